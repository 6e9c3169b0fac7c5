import {
  ArrowLeftOutlined,
  CaretRightOutlined,
  DeleteOutlined,
  EditOutlined,
  PauseCircleOutlined,
  ReloadOutlined,
} from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Card, Col, Descriptions, Flex, Result, Row, Skeleton, Tabs, Tooltip, Typography } from 'antd';
import { useState } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { errorMessage, isApiError } from '../../api/problem';
import {
  deleteInstanceMutation,
  instanceQuery,
  specsQuery,
  startInstanceMutation,
  stopInstanceMutation,
} from '../../api/queries/instances';
import { meQuery } from '../../api/queries/me';
import type { Instance, Spec } from '../../api/types';
import { CopyButton } from '../../components/CopyButton';
import { PageHeader } from '../../components/PageHeader';
import { QueryError } from '../../components/QueryError';
import { formatRelative, formatTime } from '../../lib/format';
import { isTransitional } from '../../lib/instanceStatus';
import { formatCount, formatPerHour, formatPerMonth } from '../../lib/money';
import { can } from '../../lib/roles';
import { AccessKeysTab } from '../accessKeys/AccessKeysTab';
import { GroupsTab } from '../groups/GroupsTab';
import { TopicsTab } from '../topics/TopicsTab';
import { flushModes } from './flushModes';
import { DeleteInstanceModal } from './DeleteInstanceModal';
import { EditInstanceModal } from './EditInstanceModal';
import { Endpoint } from './Endpoint';
import { placeholders, snippets } from './snippets';
import { StatusTag } from './StatusTag';

export function InstanceDetailPage() {
  const { instanceId = '' } = useParams();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const { message, modal } = App.useApp();
  const me = useQuery(meQuery());
  const canWrite = can(me.data?.user.role, 'instances:write');
  const instance = useQuery(instanceQuery(instanceId));
  const i = instance.data;
  // The catalogue, for instances the server sends without their spec.
  const specs = useQuery({ ...specsQuery(), enabled: !!i && !i.spec });
  const spec: Spec | undefined = i?.spec ?? specs.data?.items?.find((s) => s.specCode === i?.specCode);
  const start = useMutation(startInstanceMutation(queryClient));
  const stop = useMutation(stopInstanceMutation(queryClient));
  const remove = useMutation(deleteInstanceMutation(queryClient));
  const [editOpen, setEditOpen] = useState(false);
  const [deleting, setDeleting] = useState<Instance | null>(null);
  const [search, setSearch] = useSearchParams();
  const tab = search.get('tab') ?? 'overview';

  const back = (
    <Link to="/instances">
      <Button icon={<ArrowLeftOutlined />}>Instances</Button>
    </Link>
  );

  if (instance.isError) {
    if (isApiError(instance.error) && instance.error.status === 404) {
      return (
        <Result
          status="404"
          title="Instance not found"
          subTitle="It may have been deleted, or it belongs to another account."
          extra={back}
        />
      );
    }
    return (
      <>
        <PageHeader title="Instance" extra={back} />
        <QueryError error={instance.error} what="this instance" onRetry={() => void instance.refetch()} />
      </>
    );
  }
  if (!i) {
    return (
      <>
        <PageHeader title="Instance" extra={back} />
        <Card>
          <Skeleton active />
        </Card>
      </>
    );
  }

  const busy = isTransitional(i.status);

  const confirmStop = () =>
    modal.confirm({
      title: `Stop “${i.instanceName}”?`,
      content:
        'Clients are disconnected and sends fail until you start it again. Stored messages, topics and groups are kept.',
      okText: 'Stop instance',
      okButtonProps: { danger: true },
      onOk: () =>
        stop.mutateAsync(i.instanceId).then(
          () => void message.info(`Stopping “${i.instanceName}”…`),
          (e: unknown) => void message.error(errorMessage(e)),
        ),
    });

  const confirmStart = () =>
    modal.confirm({
      title: `Start “${i.instanceName}”?`,
      content: 'The instance starts again with its stored messages; clients can reconnect once it is running.',
      okText: 'Start instance',
      onOk: () =>
        start.mutateAsync(i.instanceId).then(
          () => void message.info(`Starting “${i.instanceName}”…`),
          (e: unknown) => void message.error(errorMessage(e)),
        ),
    });

  const doDelete = async (target: Instance) => {
    await remove.mutateAsync(target.instanceId);
    message.info(`Deleting “${target.instanceName}”…`);
    navigate('/instances');
  };

  const canStart = i.status === 'STOPPED' || i.status === 'FAILED';
  const canStop = i.status !== 'STOPPED' && i.status !== 'STOPPING' && i.status !== 'DELETING';

  const actions = (
    <>
      <Tooltip title="Refresh">
        <Button aria-label="Refresh" icon={<ReloadOutlined />} onClick={() => void instance.refetch()} loading={instance.isFetching && !busy} />
      </Tooltip>
      {canWrite && (
        <>
          <Button icon={<EditOutlined />} onClick={() => setEditOpen(true)} disabled={i.status === 'DELETING'}>
            Edit
          </Button>
          {canStart && (
            <Button icon={<CaretRightOutlined />} onClick={confirmStart} loading={start.isPending}>
              Start
            </Button>
          )}
          {canStop && (
            <Button icon={<PauseCircleOutlined />} onClick={confirmStop} loading={stop.isPending} disabled={busy}>
              Stop
            </Button>
          )}
          <Button danger icon={<DeleteOutlined />} onClick={() => setDeleting(i)} disabled={i.status === 'DELETING'}>
            Delete
          </Button>
        </>
      )}
      {back}
    </>
  );

  const flush = flushModes.find((m) => m.value === i.flushMode);

  return (
    <>
      <PageHeader
        title={
          <Flex align="center" gap={12}>
            <span data-testid="instance-name">{i.instanceName}</span>
            <StatusTag status={i.status} />
          </Flex>
        }
        description={
          <>
            <Typography.Text type="secondary" copyable={{ text: i.instanceId, tooltips: ['Copy ID', 'Copied'] }}>
              {i.instanceId}
            </Typography.Text>
            {i.remark && <> · {i.remark}</>}
          </>
        }
        extra={actions}
      />
      {i.status === 'FAILED' && (
        <Alert
          type="error"
          showIcon
          role="alert"
          style={{ marginBottom: 16 }}
          title="The instance failed"
          description={i.statusReason || 'Orbit keeps trying to bring it back. Stop and start it, or delete it.'}
        />
      )}
      {busy && i.statusReason && (
        <Alert type="info" showIcon style={{ marginBottom: 16 }} title={i.statusReason} />
      )}
      <Tabs
        activeKey={tab}
        onChange={(k) => setSearch(k === 'overview' ? {} : { tab: k }, { replace: true })}
        destroyOnHidden
        items={[
          {
            key: 'overview',
            label: 'Overview',
            children: (
              <Row gutter={[16, 16]}>
                <Col span={24}>
                  <Card title="Connect">
                    <Descriptions
                      column={1}
                      size="small"
                      items={[{ key: 'endpoint', label: 'Endpoint (gRPC)', children: <Endpoint endpoint={i.endpoint} status={i.status} /> }]}
                    />
                    {i.endpoint ? (
                      <>
                        <Typography.Paragraph type="secondary" style={{ margin: '12px 0 8px' }}>
                          A producer that sends one message. Replace <Typography.Text code>{placeholders.topic}</Typography.Text>,{' '}
                          <Typography.Text code>{placeholders.accessKey}</Typography.Text> and{' '}
                          <Typography.Text code>{placeholders.secretKey}</Typography.Text> with a topic and an access key of this
                          instance.
                        </Typography.Paragraph>
                        <Tabs
                          items={snippets(i.endpoint).map((s) => ({
                            key: s.language,
                            label: s.label,
                            children: (
                              <div>
                                <Flex justify="space-between" align="center" style={{ marginBottom: 8 }}>
                                  <Typography.Text type="secondary">
                                    <Typography.Text code>{s.install}</Typography.Text>
                                  </Typography.Text>
                                  <CopyButton text={s.code} label="Copy code" aria-label={`Copy ${s.label} code`} />
                                </Flex>
                                <pre className="orbit-code" data-testid={`snippet-${s.language}`}>
                                  {s.code}
                                </pre>
                              </div>
                            ),
                          }))}
                        />
                      </>
                    ) : (
                      <Typography.Paragraph type="secondary" style={{ margin: '12px 0 0' }}>
                        Client code appears here once the instance is running and has an endpoint.
                      </Typography.Paragraph>
                    )}
                  </Card>
                </Col>
                <Col xs={24} lg={12}>
                  <Card title="Basic information" style={{ height: '100%' }}>
                    <Descriptions
                      column={1}
                      size="small"
                      items={[
                        { key: 'name', label: 'Name', children: i.instanceName },
                        { key: 'status', label: 'Status', children: <StatusTag status={i.status} reason={i.statusReason} /> },
                        {
                          key: 'retention',
                          label: 'Message retention',
                          children: `${formatCount(i.messageRetentionHours)} hours`,
                        },
                        {
                          key: 'flush',
                          label: 'Flush mode',
                          children: flush ? <Tooltip title={flush.help}>{flush.label}</Tooltip> : i.flushMode,
                        },
                        {
                          key: 'remark',
                          label: 'Remark',
                          children: i.remark || <Typography.Text type="secondary">—</Typography.Text>,
                        },
                        {
                          key: 'created',
                          label: 'Created',
                          children: <Tooltip title={formatRelative(i.createdAt)}>{formatTime(i.createdAt)}</Tooltip>,
                        },
                        {
                          key: 'updated',
                          label: 'Updated',
                          children: <Tooltip title={formatRelative(i.updatedAt)}>{formatTime(i.updatedAt)}</Tooltip>,
                        },
                      ]}
                    />
                  </Card>
                </Col>
                <Col xs={24} lg={12}>
                  <Card title="Spec and quotas" style={{ height: '100%' }}>
                    <Descriptions
                      column={1}
                      size="small"
                      items={[
                        {
                          key: 'spec',
                          label: 'Spec',
                          children: (
                            <>
                              {i.specCode}
                              {spec && (
                                <Typography.Text type="secondary" style={{ textTransform: 'capitalize' }}>
                                  {' '}
                                  ({spec.edition})
                                </Typography.Text>
                              )}
                            </>
                          ),
                        },
                        { key: 'tps', label: 'Max TPS', children: spec ? formatCount(spec.maxTps) : '—' },
                        { key: 'topics', label: 'Max topics', children: spec ? formatCount(spec.maxTopics) : '—' },
                        { key: 'groups', label: 'Max consumer groups', children: spec ? formatCount(spec.maxGroups) : '—' },
                        { key: 'storage', label: 'Storage included', children: spec ? `${formatCount(spec.storageGb)} GB` : '—' },
                        {
                          key: 'price',
                          label: 'Price',
                          children: spec ? (
                            <Tooltip title={formatPerHour(spec.pricePerHour)}>{formatPerMonth(spec.pricePerMonth)}</Tooltip>
                          ) : (
                            '—'
                          ),
                        },
                      ]}
                    />
                  </Card>
                </Col>
              </Row>
            ),
          },
          {
            key: 'topics',
            label: 'Topics',
            children: <TopicsTab instanceId={i.instanceId} canWrite={canWrite} />,
          },
          {
            key: 'groups',
            label: 'Consumer groups',
            children: <GroupsTab instanceId={i.instanceId} canWrite={canWrite} />,
          },
          {
            key: 'accessKeys',
            label: 'Access keys',
            children: <AccessKeysTab instanceId={i.instanceId} canWrite={canWrite} />,
          },
        ]}
      />
      {canWrite && (
        <>
          <EditInstanceModal
            instance={i}
            open={editOpen}
            onClose={() => setEditOpen(false)}
            onSaved={() => void message.success('Saved.')}
          />
          <DeleteInstanceModal instance={deleting} onClose={() => setDeleting(null)} onConfirm={doDelete} />
        </>
      )}
    </>
  );
}
