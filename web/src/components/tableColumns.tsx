import { DeleteOutlined, EditOutlined } from '@ant-design/icons';
import { Button, Flex, Tooltip } from 'antd';
import { formatRelative, formatTime } from '../lib/format';

/** A "Created" column: relative time, the exact time on hover. */
export function createdColumn() {
  return {
    title: 'Created',
    dataIndex: 'createdAt',
    key: 'created',
    render: (v: string) => <Tooltip title={formatTime(v)}>{formatRelative(v)}</Tooltip>,
  };
}

/** Edit and delete buttons at the end of a row, labelled with the row's name. */
export function rowActionsColumn<T>(name: (row: T) => string, onEdit: (row: T) => void, onDelete: (row: T) => void) {
  return {
    title: '',
    key: 'actions',
    align: 'right' as const,
    render: (_: unknown, row: T) => (
      <Flex gap={4} justify="flex-end">
        <Tooltip title="Edit">
          <Button type="text" aria-label={`Edit ${name(row)}`} icon={<EditOutlined />} onClick={() => onEdit(row)} />
        </Tooltip>
        <Tooltip title="Delete">
          <Button type="text" danger aria-label={`Delete ${name(row)}`} icon={<DeleteOutlined />} onClick={() => onDelete(row)} />
        </Tooltip>
      </Flex>
    ),
  };
}
