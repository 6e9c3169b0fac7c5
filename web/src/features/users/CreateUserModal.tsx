import { useMutation, useQueryClient } from '@tanstack/react-query';
import { App, Button, Form, Input, Modal, Select, Space } from 'antd';
import { useState } from 'react';
import { createUserMutation } from '../../api/queries/users';
import type { CreateUserBody } from '../../api/types';
import { applyProblemToForm } from '../../components/formErrors';
import { ProblemAlert } from '../../components/ProblemAlert';
import { useIdempotencyKey } from '../../components/useIdempotencyKey';
import { roleLabel, type RoleName } from '../../lib/roles';
import { generatePassword } from './password';

const fields = ['email', 'name', 'role', 'password'] as const;

export function CreateUserModal(props: { open: boolean; onClose: () => void; grantable: RoleName[] }) {
  const [form] = Form.useForm<CreateUserBody>();
  const queryClient = useQueryClient();
  const { message } = App.useApp();
  const idem = useIdempotencyKey();
  const [problem, setProblem] = useState<unknown>(null);
  const create = useMutation(createUserMutation(queryClient));

  const close = () => {
    setProblem(null);
    form.resetFields();
    props.onClose();
  };

  const onFinish = (body: CreateUserBody) => {
    setProblem(null);
    create.mutate(
      { body, idempotencyKey: idem.key },
      {
        onSuccess: (user) => {
          idem.settle(null);
          message.success(`${user.email} was added as ${user.role}.`);
          close();
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
      title="Invite user"
      open={props.open}
      onCancel={close}
      onOk={() => form.submit()}
      okText="Create user"
      confirmLoading={create.isPending}
      destroyOnHidden
      mask={{ closable: false }}
    >
      <ProblemAlert error={problem} />
      <Form
        form={form}
        layout="vertical"
        onFinish={onFinish}
        initialValues={{ role: 'developer' }}
        requiredMark="optional"
        preserve={false}
      >
        <Form.Item
          name="email"
          label="Email"
          rules={[
            { required: true, message: 'Enter an email' },
            { type: 'email', message: 'Enter a valid email address' },
          ]}
        >
          <Input autoComplete="off" />
        </Form.Item>
        <Form.Item name="name" label="Name" rules={[{ required: true, message: 'Enter a name' }]}>
          <Input autoComplete="off" />
        </Form.Item>
        <Form.Item name="role" label="Role" rules={[{ required: true, message: 'Choose a role' }]}>
          <Select options={props.grantable.map((r) => ({ value: r, label: roleLabel[r] }))} />
        </Form.Item>
        <Form.Item
          label="Initial password"
          required
          extra="Share it with the user through a safe channel; they can use it to log in right away."
        >
          <Space.Compact style={{ width: '100%' }}>
            <Form.Item name="password" noStyle rules={[{ required: true, message: 'Set an initial password' }]}>
              <Input.Password autoComplete="new-password" aria-label="Initial password" />
            </Form.Item>
            <Button onClick={() => form.setFieldsValue({ password: generatePassword() })}>Generate</Button>
          </Space.Compact>
        </Form.Item>
      </Form>
    </Modal>
  );
}
