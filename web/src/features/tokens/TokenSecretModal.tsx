import { CheckOutlined, CopyOutlined } from '@ant-design/icons';
import { Alert, Button, Descriptions, Flex, Modal, Typography } from 'antd';
import { useState } from 'react';
import type { CreatedToken } from '../../api/types';
import { copyText } from '../../components/copy';
import { formatTime } from '../../lib/format';

/** Shows a new token's secret, the only time it is ever visible. */
export function TokenSecretModal(props: { created: CreatedToken | null; onClose: () => void }) {
  const [copied, setCopied] = useState<'idle' | 'copied' | 'failed'>('idle');
  const created = props.created;

  const copy = async () => {
    if (!created) return;
    setCopied((await copyText(created.secret)) ? 'copied' : 'failed');
  };

  const close = () => {
    setCopied('idle');
    props.onClose();
  };

  return (
    <Modal
      title="API token created"
      open={created !== null}
      onCancel={close}
      mask={{ closable: false }}
      keyboard={false}
      footer={
        <Button type="primary" onClick={close}>
          I have copied it
        </Button>
      }
      width={600}
    >
      {created && (
        <>
          <Alert
            type="warning"
            showIcon
            title="Copy this token now"
            description="This is the only time the secret is shown. Orbit stores only a hash of it; if you lose it, revoke the token and create a new one."
            style={{ marginBottom: 16 }}
          />
          <Flex gap={8} align="stretch" style={{ marginBottom: 16 }}>
            <Typography.Paragraph
              data-testid="token-secret"
              className="orbit-secret"
              style={{
                flex: 1,
                margin: 0,
                padding: '6px 11px',
                background: '#fafafa',
                border: '1px solid #d9d9d9',
                borderRadius: 6,
              }}
            >
              {created.secret}
            </Typography.Paragraph>
            <Button
              icon={copied === 'copied' ? <CheckOutlined /> : <CopyOutlined />}
              onClick={() => void copy()}
              aria-label="Copy token"
              style={{ height: 'auto' }}
            >
              {copied === 'copied' ? 'Copied' : 'Copy'}
            </Button>
          </Flex>
          {copied === 'failed' && (
            <Typography.Paragraph type="danger">
              The browser did not allow copying. Select the token above and copy it by hand.
            </Typography.Paragraph>
          )}
          <Descriptions
            size="small"
            column={1}
            items={[
              { key: 'name', label: 'Name', children: created.token.name },
              { key: 'role', label: 'Role', children: created.token.role },
              { key: 'expires', label: 'Expires', children: created.token.expiresAt ? formatTime(created.token.expiresAt) : 'Never' },
            ]}
          />
          <Typography.Paragraph type="secondary" style={{ marginBottom: 0, marginTop: 12 }}>
            Use it as <Typography.Text code>Authorization: Bearer &lt;token&gt;</Typography.Text> on requests to{' '}
            <Typography.Text code>/api/v1</Typography.Text>.
          </Typography.Paragraph>
        </>
      )}
    </Modal>
  );
}
