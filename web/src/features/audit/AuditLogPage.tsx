import { ReloadOutlined, SearchOutlined } from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import {
  Button,
  Card,
  DatePicker,
  Descriptions,
  Flex,
  Form,
  Input,
  Table,
  Tag,
  Tooltip,
  Typography,
  type TableColumnsType,
} from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { useEffect } from 'react';
import { useSearchParams } from 'react-router';
import { auditEventsQuery } from '../../api/queries/audit';
import { meQuery } from '../../api/queries/me';
import type { AuditEvent, AuditFilters } from '../../api/types';
import { CursorPager, useCursorPaging } from '../../components/CursorPager';
import { PageHeader } from '../../components/PageHeader';
import { NotForYourRole, QueryError } from '../../components/QueryError';
import { formatRelative, formatTime } from '../../lib/format';
import { can } from '../../lib/roles';

interface FilterValues {
  actor?: string;
  action?: string;
  resource?: string;
  range?: [Dayjs | null, Dayjs | null] | null;
}

const filterKeys = ['actor', 'action', 'resource', 'start', 'end'] as const;

// Filters live in the URL so a filtered view can be reloaded and shared.
function filtersFromParams(params: URLSearchParams): AuditFilters {
  const f: AuditFilters = {};
  for (const k of filterKeys) {
    const v = params.get(k);
    if (v) f[k] = v;
  }
  return f;
}

function toFormValues(f: AuditFilters): FilterValues {
  return {
    actor: f.actor,
    action: f.action,
    resource: f.resource,
    range: f.start || f.end ? [f.start ? dayjs(f.start) : null, f.end ? dayjs(f.end) : null] : null,
  };
}

const rangePresets: { label: string; value: [Dayjs, Dayjs] }[] = [
  { label: 'Last hour', value: [dayjs().subtract(1, 'hour'), dayjs()] },
  { label: 'Last 24 hours', value: [dayjs().subtract(1, 'day'), dayjs()] },
  { label: 'Last 7 days', value: [dayjs().subtract(7, 'day'), dayjs()] },
  { label: 'Last 30 days', value: [dayjs().subtract(30, 'day'), dayjs()] },
];

function ResultTag(props: { e: AuditEvent }) {
  const ok = props.e.statusCode < 400;
  return (
    <Tooltip title={`HTTP ${props.e.statusCode}`}>
      <Tag color={ok ? 'green' : props.e.statusCode >= 500 ? 'red' : 'orange'}>
        {props.e.result || (ok ? 'success' : 'failure')} · {props.e.statusCode}
      </Tag>
    </Tooltip>
  );
}

export function AuditLogPage() {
  const [params, setParams] = useSearchParams();
  const filters = filtersFromParams(params);
  const filterSig = JSON.stringify(filters);
  const paging = useCursorPaging(50);
  const [form] = Form.useForm<FilterValues>();
  const me = useQuery(meQuery());
  const canRead = can(me.data?.user.role, 'audit:read');
  const events = useQuery({
    ...auditEventsQuery({ ...filters, pageSize: paging.pageSize, pageToken: paging.pageToken }),
    enabled: canRead,
  });

  // New filters start again at the first page.
  const { reset } = paging;
  useEffect(() => {
    reset();
    if (canRead) form.setFieldsValue(toFormValues(JSON.parse(filterSig) as AuditFilters));
  }, [filterSig, reset, form, canRead]);

  const apply = (v: FilterValues) => {
    const next = new URLSearchParams();
    if (v.actor?.trim()) next.set('actor', v.actor.trim());
    if (v.action?.trim()) next.set('action', v.action.trim());
    if (v.resource?.trim()) next.set('resource', v.resource.trim());
    if (v.range?.[0]) next.set('start', v.range[0].toISOString());
    if (v.range?.[1]) next.set('end', v.range[1].toISOString());
    setParams(next);
  };

  const clear = () => {
    form.resetFields();
    setParams(new URLSearchParams());
  };

  const columns: TableColumnsType<AuditEvent> = [
    {
      title: 'Time',
      dataIndex: 'createdAt',
      width: 190,
      render: (t: string) => <Tooltip title={formatRelative(t)}>{formatTime(t)}</Tooltip>,
    },
    { title: 'Actor', dataIndex: 'actorEmail', render: (v: string, e) => v || e.actorId || '—' },
    { title: 'Action', dataIndex: 'action', render: (a: string) => <Typography.Text code>{a}</Typography.Text> },
    { title: 'Resource', dataIndex: 'resource', ellipsis: true },
    { title: 'Result', key: 'result', width: 150, render: (_, e) => <ResultTag e={e} /> },
    { title: 'Source IP', dataIndex: 'sourceIp', width: 140 },
  ];

  const header = (
    <PageHeader
      title="Audit log"
      description="Every change made in this account: who did it, when, from where, and whether it worked."
      extra={
        canRead && (
          <Button icon={<ReloadOutlined />} onClick={() => void events.refetch()} loading={events.isFetching}>
            Refresh
          </Button>
        )
      }
    />
  );

  if (me.data && !canRead) {
    return (
      <>
        {header}
        <NotForYourRole what="the audit log" needed="admin" />
      </>
    );
  }

  return (
    <>
      {header}
      <Card style={{ marginBottom: 16 }} styles={{ body: { paddingBottom: 0 } }}>
        <Form form={form} layout="inline" onFinish={apply} initialValues={toFormValues(filters)}>
          <Form.Item name="actor" label="Actor" style={{ marginBottom: 16 }}>
            <Input placeholder="Email or user ID" allowClear style={{ width: 200 }} />
          </Form.Item>
          <Form.Item name="action" label="Action" style={{ marginBottom: 16 }}>
            <Input placeholder="e.g. createUser" allowClear style={{ width: 180 }} />
          </Form.Item>
          <Form.Item name="resource" label="Resource" style={{ marginBottom: 16 }}>
            <Input placeholder="Prefix, e.g. users/" allowClear style={{ width: 180 }} />
          </Form.Item>
          <Form.Item name="range" label="Time" style={{ marginBottom: 16 }}>
            <DatePicker.RangePicker showTime allowEmpty={[true, true]} presets={rangePresets} />
          </Form.Item>
          <Flex gap={8} style={{ marginBottom: 16 }}>
            <Button type="primary" htmlType="submit" icon={<SearchOutlined />}>
              Apply
            </Button>
            <Button onClick={clear}>Reset</Button>
          </Flex>
        </Form>
      </Card>
      {events.isError ? (
        <QueryError error={events.error} what="the audit log" onRetry={() => void events.refetch()} />
      ) : (
        <Card styles={{ body: { padding: 0 } }}>
          <Table<AuditEvent>
            rowKey="id"
            size="middle"
            columns={columns}
            dataSource={events.data?.items ?? []}
            loading={events.isLoading || events.isPlaceholderData}
            pagination={false}
            locale={{ emptyText: 'No events match these filters' }}
            expandable={{
              expandedRowRender: (e) => (
                <Descriptions
                  size="small"
                  column={2}
                  items={[
                    { key: 'actor', label: 'Actor ID', children: <Typography.Text copyable>{e.actorId}</Typography.Text> },
                    { key: 'req', label: 'Request ID', children: <Typography.Text copyable>{e.requestId}</Typography.Text> },
                    { key: 'res', label: 'Resource', children: e.resource },
                    { key: 'ua', label: 'User agent', children: e.userAgent || '—' },
                  ]}
                />
              ),
            }}
          />
          <div style={{ padding: '0 16px 16px' }}>
            <CursorPager
              paging={paging}
              nextPageToken={events.data?.nextPageToken}
              itemCount={events.data?.items?.length ?? 0}
              loading={events.isFetching}
            />
          </div>
        </Card>
      )}
    </>
  );
}
