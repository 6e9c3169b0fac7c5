import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Form, Input, InputNumber, Modal, Radio, Select } from 'antd';
import { useState } from 'react';
import { createGroupMutation, updateGroupMutation } from '../../api/queries/groups';
import type {
  ConsumerGroup,
  CreateConsumerGroupBody,
  DeliveryOrderType,
  RetryPolicyName,
  UpdateConsumerGroupBody,
} from '../../api/types';
import { applyProblemToForm } from '../../components/formErrors';
import { ProblemAlert } from '../../components/ProblemAlert';

export interface GroupValues {
  groupId: string;
  deliveryOrderType: DeliveryOrderType;
  retryPolicy: RetryPolicyName;
  maxRetryTimes: number;
  fixedIntervalRetryTime: number | null;
  maxReceiveTps: number | null;
  remark: string;
}

const fields = [
  'groupId',
  'deliveryOrderType',
  'maxReceiveTps',
  'remark',
  'consumeRetryPolicy.maxRetryTimes',
  'consumeRetryPolicy.retryPolicy',
  'consumeRetryPolicy.fixedIntervalRetryTime',
] as const;

// Server field errors name nested fields with dots; the form's fields are flat.
const flat: Record<string, string> = {
  'consumeRetryPolicy.maxRetryTimes': 'maxRetryTimes',
  'consumeRetryPolicy.retryPolicy': 'retryPolicy',
  'consumeRetryPolicy.fixedIntervalRetryTime': 'fixedIntervalRetryTime',
};

export const deliveryOrders: { value: DeliveryOrderType; label: string; help: string }[] = [
  { value: 'Concurrently', label: 'Concurrently', help: 'Messages are consumed in parallel.' },
  { value: 'Orderly', label: 'Orderly', help: 'Messages of one queue (or FIFO message group) are consumed in order.' },
];

export const retryPolicies: { value: RetryPolicyName; label: string }[] = [
  { value: 'DefaultRetryPolicy', label: 'Back off (default)' },
  { value: 'FixedRetryPolicy', label: 'Fixed interval' },
];

function retryPolicyOf(v: GroupValues) {
  return {
    retryPolicy: v.retryPolicy,
    maxRetryTimes: v.maxRetryTimes,
    ...(v.retryPolicy === 'FixedRetryPolicy' ? { fixedIntervalRetryTime: v.fixedIntervalRetryTime ?? 0 } : {}),
  };
}

export function createGroupBody(v: GroupValues): CreateConsumerGroupBody {
  return {
    groupId: v.groupId.trim(),
    deliveryOrderType: v.deliveryOrderType,
    consumeRetryPolicy: retryPolicyOf(v),
    maxReceiveTps: v.maxReceiveTps ?? 0,
    remark: (v.remark ?? '').trim(),
  };
}

/** Only what changed goes into the PATCH; the retry policy is sent whole when any of it changed. */
export function groupChanges(g: ConsumerGroup, v: GroupValues): UpdateConsumerGroupBody {
  const body: UpdateConsumerGroupBody = {};
  if (v.deliveryOrderType !== g.deliveryOrderType) body.deliveryOrderType = v.deliveryOrderType;
  const p = g.consumeRetryPolicy;
  const fixed = v.retryPolicy === 'FixedRetryPolicy';
  if (
    v.retryPolicy !== p.retryPolicy ||
    v.maxRetryTimes !== p.maxRetryTimes ||
    (fixed && (v.fixedIntervalRetryTime ?? 0) !== p.fixedIntervalRetryTime)
  ) {
    body.consumeRetryPolicy = retryPolicyOf(v);
  }
  const tps = v.maxReceiveTps ?? 0;
  if (tps !== g.maxReceiveTps) body.maxReceiveTps = tps;
  const remark = (v.remark ?? '').trim();
  if (remark !== (g.remark ?? '')) body.remark = remark;
  return body;
}

function mapProblemFields(e: unknown): unknown {
  if (e && typeof e === 'object' && 'errors' in e && Array.isArray((e as { errors: unknown }).errors)) {
    for (const fe of (e as { errors: { field: string }[] }).errors) {
      if (flat[fe.field]) fe.field = flat[fe.field]!;
    }
  }
  return e;
}

/** Creates a consumer group (group null) or edits one. */
export function GroupFormModal(props: {
  instanceId: string;
  open: boolean;
  group: ConsumerGroup | null;
  onClose: () => void;
  onSaved?: (groupId: string) => void;
}) {
  const [form] = Form.useForm<GroupValues>();
  const queryClient = useQueryClient();
  const create = useMutation(createGroupMutation(queryClient, props.instanceId));
  const update = useMutation(updateGroupMutation(queryClient, props.instanceId));
  const [problem, setProblem] = useState<unknown>(null);
  const g = props.group;
  const retryPolicy = Form.useWatch('retryPolicy', form);

  const close = () => {
    setProblem(null);
    props.onClose();
  };
  const onError = (e: unknown) =>
    setProblem(applyProblemToForm(form, mapProblemFields(e), [...fields, ...Object.values(flat)]));
  const done = (id: string) => {
    close();
    props.onSaved?.(id);
  };

  const onFinish = (v: GroupValues) => {
    setProblem(null);
    if (g) {
      const body = groupChanges(g, v);
      if (Object.keys(body).length === 0) return close();
      update.mutate({ groupId: g.groupId, body }, { onSuccess: () => done(g.groupId), onError });
    } else {
      create.mutate(createGroupBody(v), { onSuccess: (r) => done(r.groupId), onError });
    }
  };

  const initial: GroupValues = g
    ? {
        groupId: g.groupId,
        deliveryOrderType: g.deliveryOrderType,
        retryPolicy: g.consumeRetryPolicy.retryPolicy,
        maxRetryTimes: g.consumeRetryPolicy.maxRetryTimes,
        fixedIntervalRetryTime: g.consumeRetryPolicy.fixedIntervalRetryTime,
        maxReceiveTps: g.maxReceiveTps,
        remark: g.remark ?? '',
      }
    : {
        groupId: '',
        deliveryOrderType: 'Concurrently',
        retryPolicy: 'DefaultRetryPolicy',
        maxRetryTimes: 16,
        fixedIntervalRetryTime: 10,
        maxReceiveTps: 0,
        remark: '',
      };

  return (
    <Modal
      title={g ? `Edit group “${g.groupId}”` : 'Create consumer group'}
      open={props.open}
      onCancel={close}
      onOk={() => form.submit()}
      okText={g ? 'Save' : 'Create group'}
      confirmLoading={create.isPending || update.isPending}
      destroyOnHidden
      mask={{ closable: false }}
    >
      <ProblemAlert error={problem} />
      <Form<GroupValues> form={form} layout="vertical" preserve={false} onFinish={onFinish} initialValues={initial}>
        {!g && (
          <Form.Item
            name="groupId"
            label="Group ID"
            extra="Letters, digits, %, |, _ and -, at most 120 characters."
            rules={[
              { required: true, whitespace: true, message: 'Name the group' },
              { pattern: /^[A-Za-z0-9%|_-]+$/, message: 'Use letters, digits, %, |, _ and - only' },
            ]}
          >
            <Input autoComplete="off" maxLength={120} />
          </Form.Item>
        )}
        <Form.Item name="deliveryOrderType" label="Delivery order">
          <Radio.Group
            options={deliveryOrders.map((d) => ({ value: d.value, label: d.label, title: d.help }))}
          />
        </Form.Item>
        <Form.Item name="retryPolicy" label="Retry policy">
          <Select aria-label="Retry policy" options={retryPolicies} style={{ width: 220 }} />
        </Form.Item>
        <Form.Item
          name="maxRetryTimes"
          label="Max retries"
          extra="Redeliveries before a message goes to the dead-letter topic."
          rules={[{ required: true, message: 'Set the number of retries' }]}
        >
          <InputNumber min={0} max={1000} precision={0} style={{ width: 160 }} />
        </Form.Item>
        {retryPolicy === 'FixedRetryPolicy' && (
          <Form.Item name="fixedIntervalRetryTime" label="Retry interval (seconds)" rules={[{ required: true, message: 'Set the interval' }]}>
            <InputNumber min={1} precision={0} suffix="s" style={{ width: 160 }} />
          </Form.Item>
        )}
        <Form.Item name="maxReceiveTps" label="Receive TPS cap" extra="0 means only the instance's limit applies.">
          <InputNumber min={0} precision={0} suffix="msg/s" style={{ width: 220 }} />
        </Form.Item>
        <Form.Item name="remark" label="Remark">
          <Input.TextArea rows={2} maxLength={256} showCount />
        </Form.Item>
      </Form>
    </Modal>
  );
}
