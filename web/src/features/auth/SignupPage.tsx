import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Button, Form, Input, Typography } from 'antd';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { signupMutation } from '../../api/queries/auth';
import type { SignupBody } from '../../api/types';
import { applyProblemToForm } from '../../components/formErrors';
import { ProblemAlert } from '../../components/ProblemAlert';
import { AuthCard } from './AuthCard';

const fields = ['email', 'password', 'name', 'accountName'] as const;

export function SignupPage() {
  const [form] = Form.useForm<SignupBody>();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [problem, setProblem] = useState<unknown>(null);
  const signup = useMutation(signupMutation(queryClient));

  const onFinish = (values: SignupBody) => {
    setProblem(null);
    signup.mutate(values, {
      onSuccess: () => navigate('/', { replace: true }),
      onError: (e) => setProblem(applyProblemToForm(form, e, fields)),
    });
  };

  return (
    <AuthCard
      title="Create your Orbit account"
      subtitle="Managed RocketMQ 5 on your own infrastructure. You will be the owner of a new account."
      footer={
        <Typography.Text type="secondary">
          Already have an account? <Link to="/login">Log in</Link>
        </Typography.Text>
      }
    >
      <ProblemAlert error={problem} />
      <Form form={form} layout="vertical" onFinish={onFinish} requiredMark={false} disabled={signup.isPending}>
        <Form.Item name="name" label="Your name" rules={[{ required: true, message: 'Enter your name' }]}>
          <Input autoComplete="name" autoFocus maxLength={100} />
        </Form.Item>
        <Form.Item
          name="email"
          label="Work email"
          rules={[
            { required: true, message: 'Enter your email' },
            { type: 'email', message: 'Enter a valid email address' },
          ]}
        >
          <Input autoComplete="email" />
        </Form.Item>
        <Form.Item
          name="password"
          label="Password"
          extra="At least 10 characters, and not a common password."
          rules={[
            { required: true, message: 'Choose a password' },
            { min: 10, message: 'Use at least 10 characters' },
          ]}
        >
          <Input.Password autoComplete="new-password" />
        </Form.Item>
        <Form.Item
          name="accountName"
          label="Account name"
          extra="Usually your company or team. You can invite others later."
          rules={[{ required: true, message: 'Name the account' }]}
        >
          <Input autoComplete="organization" maxLength={100} />
        </Form.Item>
        <Button type="primary" htmlType="submit" block loading={signup.isPending}>
          Create account
        </Button>
      </Form>
    </AuthCard>
  );
}
