import { PlusOutlined, ReloadOutlined } from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import { Button, Card, Empty, Table, Tooltip, Typography, type TableColumnsType } from 'antd';
import { Link, useNavigate } from 'react-router';
import { instancesQuery } from '../../api/queries/instances';
import { meQuery } from '../../api/queries/me';
import type { Instance } from '../../api/types';
import { CursorPager, useCursorPaging } from '../../components/CursorPager';
import { PageHeader } from '../../components/PageHeader';
import { QueryError } from '../../components/QueryError';
import { formatRelative, formatTime } from '../../lib/format';
import { isTransitional } from '../../lib/instanceStatus';
import { can } from '../../lib/roles';
import { Endpoint } from './Endpoint';
import { StatusTag } from './StatusTag';

export function InstancesPage() {
  const navigate = useNavigate();
  const paging = useCursorPaging();
  const me = useQuery(meQuery());
  const canWrite = can(me.data?.user.role, 'instances:write');
  const instances = useQuery(instancesQuery({ pageSize: paging.pageSize, pageToken: paging.pageToken }));
  const items = instances.data?.items ?? [];
  // While the page polls by itself, a spinning Refresh button every two
  // seconds would only distract.
  const polling = items.some((i) => isTransitional(i.status));

  const columns: TableColumnsType<Instance> = [
    {
      title: 'Name',
      dataIndex: 'instanceName',
      render: (n: string, i) => (
        <div>
          <Link to={`/instances/${i.instanceId}`}>
            <Typography.Text strong style={{ color: 'inherit' }}>
              {n}
            </Typography.Text>
          </Link>
          <br />
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
            {i.instanceId}
          </Typography.Text>
        </div>
      ),
    },
    {
      title: 'Status',
      dataIndex: 'status',
      width: 140,
      render: (s: string, i) => <StatusTag status={s} reason={i.statusReason} />,
    },
    {
      title: 'Spec',
      dataIndex: 'specCode',
      width: 180,
      render: (code: string, i) => (
        <div>
          <Typography.Text>{code}</Typography.Text>
          {i.spec && (
            <>
              <br />
              <Typography.Text type="secondary" style={{ fontSize: 12, textTransform: 'capitalize' }}>
                {i.spec.edition} · {i.spec.maxTps.toLocaleString('en-US')} TPS
              </Typography.Text>
            </>
          )}
        </div>
      ),
    },
    {
      title: 'Endpoint',
      dataIndex: 'endpoint',
      render: (e: string | undefined, i) => <Endpoint endpoint={e} status={i.status} />,
    },
    {
      title: 'Created',
      dataIndex: 'createdAt',
      width: 150,
      render: (t: string) => <Tooltip title={formatTime(t)}>{formatRelative(t)}</Tooltip>,
    },
  ];

  const create = canWrite && (
    <Button type="primary" icon={<PlusOutlined />} onClick={() => navigate('/instances/new')}>
      Create instance
    </Button>
  );

  return (
    <>
      <PageHeader
        title="Instances"
        description="RocketMQ 5 instances of this account. Clients connect to an instance's endpoint."
        extra={
          <>
            <Button icon={<ReloadOutlined />} onClick={() => void instances.refetch()} loading={instances.isFetching && !polling}>
              Refresh
            </Button>
            {create}
          </>
        }
      />
      {instances.isError ? (
        <QueryError error={instances.error} what="instances" onRetry={() => void instances.refetch()} />
      ) : (
        <Card styles={{ body: { padding: 0 } }}>
          <Table<Instance>
            rowKey="instanceId"
            columns={columns}
            dataSource={items}
            loading={instances.isLoading || instances.isPlaceholderData}
            pagination={false}
            locale={{
              emptyText: (
                <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description="No instances yet" style={{ padding: '24px 0' }}>
                  {create}
                </Empty>
              ),
            }}
          />
          <div style={{ padding: '0 16px 16px' }}>
            <CursorPager
              paging={paging}
              nextPageToken={instances.data?.nextPageToken}
              itemCount={items.length}
              loading={instances.isFetching && !polling}
            />
          </div>
        </Card>
      )}
    </>
  );
}
