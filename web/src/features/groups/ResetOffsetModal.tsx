import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Alert, AutoComplete, DatePicker, Descriptions, Form, Modal, Radio, Table } from 'antd';
import type { Dayjs } from 'dayjs';
import { useState } from 'react';
import { resetOffsetMutation } from '../../api/queries/groups';
import type { ConsumeOffsetReset, QueueReset, ResetOffsetBody } from '../../api/types';
import { applyProblemToForm } from '../../components/formErrors';
import { ProblemAlert } from '../../components/ProblemAlert';
import { formatCount } from '../../lib/money';

interface Values {
  topicName: string;
  resetType: ResetOffsetBody['resetType'];
  resetTime?: Dayjs | null;
}

export function resetBody(v: Values): ResetOffsetBody {
  return v.resetType === 'TIMESTAMP' && v.resetTime
    ? { resetType: 'TIMESTAMP', resetTime: v.resetTime.toISOString() }
    : { resetType: v.resetType };
}

/**
 * Resets a group's offsets on one topic: a dry run first shows what would
 * move, and only then can the reset itself be confirmed.
 */
export function ResetOffsetModal(props: {
  instanceId: string;
  groupId: string;
  topics: string[];
  open: boolean;
  onClose: () => void;
  onDone?: (r: ConsumeOffsetReset) => void;
}) {
  const [form] = Form.useForm<Values>();
  const queryClient = useQueryClient();
  const reset = useMutation(resetOffsetMutation(queryClient, props.instanceId, props.groupId));
  const [problem, setProblem] = useState<unknown>(null);
  const [preview, setPreview] = useState<{ key: string; result: ConsumeOffsetReset } | null>(null);
  const resetType = Form.useWatch('resetType', form);

  const close = () => {
    setProblem(null);
    setPreview(null);
    props.onClose();
  };

  const keyOf = (v: Values) => JSON.stringify([v.topicName.trim(), resetBody(v)]);

  const onFinish = (v: Values) => {
    setProblem(null);
    const key = keyOf(v);
    const confirmed = preview?.key === key;
    reset.mutate(
      { topicName: v.topicName.trim(), body: resetBody(v), dryRun: !confirmed },
      {
        onSuccess: (r) => {
          if (confirmed) {
            close();
            props.onDone?.(r);
          } else {
            setPreview({ key, result: r });
          }
        },
        onError: (e) => setProblem(applyProblemToForm(form, e, ['topicName', 'resetType', 'resetTime'])),
      },
    );
  };

  const r = preview?.result;
  return (
    <Modal
      title={`Reset offsets of “${props.groupId}”`}
      open={props.open}
      onCancel={close}
      onOk={() => form.submit()}
      okText={r ? 'Reset offsets' : 'Preview'}
      okButtonProps={{ danger: !!r }}
      confirmLoading={reset.isPending}
      destroyOnHidden
      mask={{ closable: false }}
      width={640}
    >
      <ProblemAlert error={problem} />
      <Form<Values>
        form={form}
        layout="vertical"
        preserve={false}
        onFinish={onFinish}
        onValuesChange={() => setPreview(null)}
        initialValues={{ topicName: props.topics[0] ?? '', resetType: 'LATEST', resetTime: null }}
      >
        <Form.Item name="topicName" label="Topic" rules={[{ required: true, whitespace: true, message: 'Pick a topic' }]}>
          <AutoComplete aria-label="Topic" options={props.topics.map((t) => ({ value: t }))} />
        </Form.Item>
        <Form.Item name="resetType" label="Reset to">
          <Radio.Group
            options={[
              { value: 'EARLIEST', label: 'Earliest (redeliver retained messages)' },
              { value: 'LATEST', label: 'Latest (skip the backlog)' },
              { value: 'TIMESTAMP', label: 'A time' },
            ]}
          />
        </Form.Item>
        {resetType === 'TIMESTAMP' && (
          <Form.Item name="resetTime" label="Time" rules={[{ required: true, message: 'Pick a time' }]}>
            <DatePicker showTime aria-label="Reset time" />
          </Form.Item>
        )}
      </Form>
      {r && (
        <div data-testid="reset-preview">
          <Alert
            type="warning"
            showIcon
            style={{ marginBottom: 12 }}
            title="Preview: nothing has changed yet"
            description="Consumers of this group pick up from the new offsets. In-flight deliveries on the topic are dropped."
          />
          <Descriptions
            size="small"
            column={2}
            items={[
              { key: 'skipped', label: 'Skipped', children: formatCount(r.skippedCount) },
              { key: 'redelivered', label: 'Delivered again', children: formatCount(r.redeliveredCount) },
            ]}
          />
          <Table<QueueReset>
            rowKey="queueId"
            size="small"
            pagination={false}
            dataSource={r.items}
            columns={[
              { title: 'Queue', dataIndex: 'queueId', key: 'q' },
              { title: 'Current offset', dataIndex: 'currentOffset', key: 'c', align: 'right', render: formatCount },
              { title: 'New offset', dataIndex: 'newOffset', key: 'n', align: 'right', render: formatCount },
            ]}
          />
        </div>
      )}
    </Modal>
  );
}
