import { ProfileOutlined } from '@ant-design/icons';
import { ComingLater } from '../../components/ComingLater';

export function UsagePage() {
  return (
    <ComingLater
      title="Usage & Bills"
      icon={<ProfileOutlined style={{ fontSize: 56, color: '#bfbfbf' }} />}
      description="Hourly usage per instance and meter, and monthly bills with their line items, will appear here."
    />
  );
}
