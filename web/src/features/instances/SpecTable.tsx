import { Table, Tag, Typography, type TableColumnsType } from 'antd';
import type { Spec } from '../../api/types';
import { formatCount, formatPerMonth } from '../../lib/money';

/** The spec catalogue as a single-choice table; a Form control (value/onChange). */
export function SpecTable(props: {
  specs: Spec[];
  loading?: boolean;
  value?: string;
  onChange?: (specCode: string) => void;
}) {
  const columns: TableColumnsType<Spec> = [
    { title: 'Spec', dataIndex: 'specCode', render: (c: string) => <Typography.Text strong>{c}</Typography.Text> },
    {
      title: 'Edition',
      dataIndex: 'edition',
      render: (e: string) => <Tag color={e === 'professional' ? 'purple' : 'blue'}>{e === 'professional' ? 'Professional' : 'Standard'}</Tag>,
    },
    { title: 'Max TPS', dataIndex: 'maxTps', align: 'right', render: formatCount },
    { title: 'Topics', dataIndex: 'maxTopics', align: 'right', render: formatCount },
    { title: 'Groups', dataIndex: 'maxGroups', align: 'right', render: formatCount },
    { title: 'Storage', dataIndex: 'storageGb', align: 'right', render: (g: number) => `${formatCount(g)} GB` },
    {
      title: 'Price',
      dataIndex: 'pricePerMonth',
      align: 'right',
      render: (p: number) => <Typography.Text strong>{formatPerMonth(p)}</Typography.Text>,
    },
  ];
  return (
    <Table<Spec>
      rowKey="specCode"
      size="middle"
      columns={columns}
      dataSource={props.specs}
      loading={props.loading}
      pagination={false}
      rowSelection={{
        type: 'radio',
        selectedRowKeys: props.value ? [props.value] : [],
        onChange: (keys) => keys[0] !== undefined && props.onChange?.(String(keys[0])),
        getCheckboxProps: (s) => ({ 'aria-label': `Choose ${s.specCode}` }) as never,
      }}
      onRow={(s) => ({ onClick: () => props.onChange?.(s.specCode), style: { cursor: 'pointer' } })}
      locale={{ emptyText: 'No specs are offered' }}
    />
  );
}
