import { Flex, Typography } from 'antd';
import { CopyButton } from '../../components/CopyButton';
import { isTransitional } from '../../lib/instanceStatus';

/** An instance's host:port with a copy button, or why there is none yet. */
export function Endpoint(props: { endpoint: string | undefined; status?: string }) {
  if (!props.endpoint) {
    return (
      <Typography.Text type="secondary">{isTransitional(props.status) ? 'Assigned when running' : '—'}</Typography.Text>
    );
  }
  return (
    <Flex gap={6} align="center">
      <Typography.Text code className="orbit-secret" data-testid="instance-endpoint">
        {props.endpoint}
      </Typography.Text>
      <CopyButton text={props.endpoint} iconOnly type="text" aria-label="Copy endpoint" />
    </Flex>
  );
}
