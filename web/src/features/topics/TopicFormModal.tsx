import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Form, Input, InputNumber, Modal, Select, Typography } from 'antd';
import { useState } from 'react';
import { createTopicMutation, updateTopicMutation } from '../../api/queries/topics';
import type { CreateTopicBody, MessageType, Topic, UpdateTopicBody } from '../../api/types';
import { applyProblemToForm } from '../../components/formErrors';
import { ProblemAlert } from '../../components/ProblemAlert';
import { messageTypeLabel, messageTypes } from './messageTypes';

interface Values {
  topicName: string;
  messageType: MessageType;
  queueCount: number;
  maxSendTps: number | null;
  remark: string;
}

const fields = ['topicName', 'messageType', 'queueCount', 'maxSendTps', 'remark'] as const;

export function createBody(v: Values): CreateTopicBody {
  return {
    topicName: v.topicName.trim(),
    messageType: v.messageType,
    queueCount: v.queueCount,
    maxSendTps: v.maxSendTps ?? 0,
    remark: (v.remark ?? '').trim(),
  };
}

/** Only what changed goes into the PATCH. */
export function topicChanges(t: Topic, v: Pick<Values, 'maxSendTps' | 'remark'>): UpdateTopicBody {
  const body: UpdateTopicBody = {};
  const tps = v.maxSendTps ?? 0;
  if (tps !== t.maxSendTps) body.maxSendTps = tps;
  const remark = (v.remark ?? '').trim();
  if (remark !== (t.remark ?? '')) body.remark = remark;
  return body;
}

/** Creates a topic (topic null) or edits one: only the TPS cap and remark can change. */
export function TopicFormModal(props: {
  instanceId: string;
  open: boolean;
  topic: Topic | null;
  onClose: () => void;
  onSaved?: (topicName: string) => void;
}) {
  const [form] = Form.useForm<Values>();
  const queryClient = useQueryClient();
  const create = useMutation(createTopicMutation(queryClient, props.instanceId));
  const update = useMutation(updateTopicMutation(queryClient, props.instanceId));
  const [problem, setProblem] = useState<unknown>(null);
  const t = props.topic;
  const editing = t !== null;

  const close = () => {
    setProblem(null);
    props.onClose();
  };
  const onError = (e: unknown) => setProblem(applyProblemToForm(form, e, fields));
  const done = (name: string) => {
    close();
    props.onSaved?.(name);
  };

  const onFinish = (v: Values) => {
    setProblem(null);
    if (t) {
      const body = topicChanges(t, v);
      if (Object.keys(body).length === 0) return close();
      update.mutate({ topicName: t.topicName, body }, { onSuccess: () => done(t.topicName), onError });
    } else {
      create.mutate(createBody(v), { onSuccess: (r) => done(r.topicName), onError });
    }
  };

  return (
    <Modal
      title={t ? `Edit topic “${t.topicName}”` : 'Create topic'}
      open={props.open}
      onCancel={close}
      onOk={() => form.submit()}
      okText={editing ? 'Save' : 'Create topic'}
      confirmLoading={create.isPending || update.isPending}
      destroyOnHidden
      mask={{ closable: false }}
    >
      <ProblemAlert error={problem} />
      <Form<Values>
        form={form}
        layout="vertical"
        preserve={false}
        onFinish={onFinish}
        initialValues={
          t
            ? { topicName: t.topicName, messageType: t.messageType, queueCount: t.queueCount, maxSendTps: t.maxSendTps, remark: t.remark ?? '' }
            : { topicName: '', messageType: 'NORMAL', queueCount: 8, maxSendTps: 0, remark: '' }
        }
      >
        {t ? (
          <Form.Item label="Message type" extra="The type cannot change once the topic exists.">
            <Typography.Text data-testid="topic-type-readonly">{messageTypeLabel(t.messageType)}</Typography.Text>
          </Form.Item>
        ) : (
          <>
            <Form.Item
              name="topicName"
              label="Topic name"
              extra="Letters, digits, %, |, _ and -."
              rules={[
                { required: true, whitespace: true, message: 'Name the topic' },
                { pattern: /^[A-Za-z0-9%|_-]+$/, message: 'Use letters, digits, %, |, _ and - only' },
              ]}
            >
              <Input autoComplete="off" maxLength={127} />
            </Form.Item>
            <Form.Item name="messageType" label="Message type" rules={[{ required: true }]}>
              <Select
                aria-label="Message type"
                options={messageTypes.map((m) => ({ value: m.value, label: `${m.label} — ${m.help}` }))}
              />
            </Form.Item>
            <Form.Item
              name="queueCount"
              label="Queues"
              extra="More queues allow more parallel consumers; 1 to 64."
              rules={[{ required: true, message: 'Set the number of queues' }]}
            >
              <InputNumber min={1} max={64} precision={0} style={{ width: 160 }} />
            </Form.Item>
          </>
        )}
        <Form.Item name="maxSendTps" label="TPS cap" extra="Messages per second sent to this topic; 0 means only the instance's limit applies.">
          <InputNumber min={0} precision={0} suffix="msg/s" style={{ width: 220 }} />
        </Form.Item>
        <Form.Item name="remark" label="Remark">
          <Input.TextArea rows={2} maxLength={256} showCount />
        </Form.Item>
      </Form>
    </Modal>
  );
}
