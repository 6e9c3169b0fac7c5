import { ClusterOutlined } from '@ant-design/icons';
import { ComingLater } from '../../components/ComingLater';

export function InstancesPage() {
  return (
    <ComingLater
      title="Instances"
      icon={<ClusterOutlined style={{ fontSize: 56, color: '#bfbfbf' }} />}
      description="Create RocketMQ 5 instances, then manage their topics, consumer groups, access keys and messages here."
    />
  );
}
