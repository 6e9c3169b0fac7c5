import { LoadingOutlined } from '@ant-design/icons';
import { Tag, Tooltip } from 'antd';
import { statusLook } from '../../lib/instanceStatus';

/** An instance's status: coloured, with a spinner while it is changing. */
export function StatusTag(props: { status: string | undefined; reason?: string }) {
  const look = statusLook(props.status);
  const tag = (
    <Tag color={look.color} icon={look.transitional ? <LoadingOutlined spin /> : undefined} data-testid="instance-status">
      {look.label}
    </Tag>
  );
  return props.reason ? <Tooltip title={props.reason}>{tag}</Tooltip> : tag;
}
