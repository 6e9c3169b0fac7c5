import { Alert, Button, Descriptions, Flex, Modal, Typography } from 'antd';
import type { CreatedAccessKey } from '../../api/types';
import { CopyButton } from '../../components/CopyButton';

/** Shows a new access key's secret, the only time it is ever visible. */
export function AccessKeySecretModal(props: { created: CreatedAccessKey | null; onClose: () => void }) {
  const k = props.created;
  return (
    <Modal
      title="Access key created"
      open={k !== null}
      onCancel={props.onClose}
      mask={{ closable: false }}
      keyboard={false}
      destroyOnHidden
      footer={
        <Button type="primary" onClick={props.onClose}>
          I have copied it
        </Button>
      }
      width={640}
    >
      {k && (
        <>
          {k.secretKey ? (
            <Alert
              type="warning"
              showIcon
              title="Copy the secret key now"
              description="This is the only time the secret key is shown. If you lose it, delete the access key and create a new one."
              style={{ marginBottom: 16 }}
            />
          ) : (
            <Alert
              type="info"
              showIcon
              title="The secret key was shown when this key was first created"
              description="This answer repeats an earlier create, so the secret is not sent again."
              style={{ marginBottom: 16 }}
            />
          )}
          <Descriptions
            size="small"
            column={1}
            items={[
              {
                key: 'ak',
                label: 'Access key',
                children: (
                  <Flex gap={8} align="center">
                    <Typography.Text code data-testid="access-key-id">
                      {k.accessKey}
                    </Typography.Text>
                    <CopyButton text={k.accessKey} aria-label="Copy access key" />
                  </Flex>
                ),
              },
              ...(k.secretKey
                ? [
                    {
                      key: 'sk',
                      label: 'Secret key',
                      children: (
                        <Flex gap={8} align="center">
                          <Typography.Text code className="orbit-secret" data-testid="access-key-secret">
                            {k.secretKey}
                          </Typography.Text>
                          <CopyButton text={k.secretKey} aria-label="Copy secret key" />
                        </Flex>
                      ),
                    },
                  ]
                : []),
            ]}
          />
        </>
      )}
    </Modal>
  );
}
