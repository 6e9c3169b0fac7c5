import { useMutation, useQueryClient } from '@tanstack/react-query';
import { DatePicker, Form, Input, Modal, Select } from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { useState } from 'react';
import { createTokenMutation } from '../../api/queries/tokens';
import type { CreatedToken, CreateTokenBody } from '../../api/types';
import { applyProblemToForm } from '../../components/formErrors';
import { ProblemAlert } from '../../components/ProblemAlert';
import { useIdempotencyKey } from '../../components/useIdempotencyKey';
import { roleLabel, type RoleName } from '../../lib/roles';

interface Values {
  name: string;
  role?: RoleName;
  expiresAt?: Dayjs | null;
}

const fields = ['name', 'role', 'expiresAt'] as const;

const presets = [
  { label: 'In 7 days', value: dayjs().add(7, 'day') },
  { label: 'In 30 days', value: dayjs().add(30, 'day') },
  { label: 'In 90 days', value: dayjs().add(90, 'day') },
  { label: 'In 1 year', value: dayjs().add(1, 'year') },
];

export function CreateTokenModal(props: {
  open: boolean;
  onClose: () => void;
  onCreated: (t: CreatedToken) => void;
  myRole: RoleName | undefined;
  grantable: RoleName[];
}) {
  const [form] = Form.useForm<Values>();
  const queryClient = useQueryClient();
  const idem = useIdempotencyKey();
  const [problem, setProblem] = useState<unknown>(null);
  const create = useMutation(createTokenMutation(queryClient));

  const close = () => {
    setProblem(null);
    form.resetFields();
    props.onClose();
  };

  const onFinish = (v: Values) => {
    setProblem(null);
    const body: CreateTokenBody = { name: v.name.trim() };
    if (v.role) body.role = v.role;
    if (v.expiresAt) body.expiresAt = v.expiresAt.endOf('day').toISOString();
    create.mutate(
      { body, idempotencyKey: idem.key },
      {
        onSuccess: (created) => {
          idem.settle(null);
          close();
          props.onCreated(created);
        },
        onError: (e) => {
          idem.settle(e);
          setProblem(applyProblemToForm(form, e, fields));
        },
      },
    );
  };

  return (
    <Modal
      title="Create API token"
      open={props.open}
      onCancel={close}
      onOk={() => form.submit()}
      okText="Create token"
      confirmLoading={create.isPending}
      destroyOnHidden
      mask={{ closable: false }}
    >
      <ProblemAlert error={problem} />
      <Form form={form} layout="vertical" onFinish={onFinish} requiredMark="optional" preserve={false}>
        <Form.Item
          name="name"
          label="Name"
          extra="What the token is for, e.g. “CI deploy” or “terraform”."
          rules={[{ required: true, whitespace: true, message: 'Name the token' }]}
        >
          <Input autoComplete="off" maxLength={100} />
        </Form.Item>
        <Form.Item
          name="role"
          label="Role"
          extra="A token never has more rights than you: its effective role is the lower of this and your own."
        >
          <Select
            allowClear
            placeholder={`Same as yours${props.myRole ? ` (${roleLabel[props.myRole]})` : ''}`}
            options={props.grantable.map((r) => ({ value: r, label: roleLabel[r] }))}
          />
        </Form.Item>
        <Form.Item name="expiresAt" label="Expires" extra="Leave empty for a token that does not expire.">
          <DatePicker
            style={{ width: '100%' }}
            presets={presets}
            placeholder="Never"
            disabledDate={(d) => d.isBefore(dayjs(), 'day')}
          />
        </Form.Item>
      </Form>
    </Modal>
  );
}
