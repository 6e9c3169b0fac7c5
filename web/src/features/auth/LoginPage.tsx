import { LockOutlined, MailOutlined } from '@ant-design/icons';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Button, Form, Input, Typography } from 'antd';
import { useState } from 'react';
import { Link, useLocation, useNavigate } from 'react-router';
import { loginMutation } from '../../api/queries/auth';
import type { LoginBody } from '../../api/types';
import { applyProblemToForm } from '../../components/formErrors';
import { ProblemAlert } from '../../components/ProblemAlert';
import { AuthCard } from './AuthCard';
import { nextFrom } from '../../lib/next';

const fields = ['email', 'password'] as const;

export function LoginPage() {
  const [form] = Form.useForm<LoginBody>();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const location = useLocation();
  const [problem, setProblem] = useState<unknown>(null);
  const login = useMutation(loginMutation(queryClient));

  const onFinish = (values: LoginBody) => {
    setProblem(null);
    login.mutate(values, {
      onSuccess: () => navigate(nextFrom(location.search), { replace: true }),
      onError: (e) => setProblem(applyProblemToForm(form, e, fields)),
    });
  };

  return (
    <AuthCard
      title="Log in"
      subtitle="Welcome back. Log in to manage your RocketMQ instances."
      footer={
        <Typography.Text type="secondary">
          New to Orbit? <Link to={`/signup${location.search}`}>Create an account</Link>
        </Typography.Text>
      }
    >
      <ProblemAlert error={problem} />
      <Form form={form} layout="vertical" onFinish={onFinish} requiredMark={false} disabled={login.isPending}>
        <Form.Item
          name="email"
          label="Email"
          rules={[
            { required: true, message: 'Enter your email' },
            { type: 'email', message: 'Enter a valid email address' },
          ]}
        >
          <Input prefix={<MailOutlined />} autoComplete="username" autoFocus />
        </Form.Item>
        <Form.Item name="password" label="Password" rules={[{ required: true, message: 'Enter your password' }]}>
          <Input.Password prefix={<LockOutlined />} autoComplete="current-password" />
        </Form.Item>
        <Button type="primary" htmlType="submit" block loading={login.isPending}>
          Log in
        </Button>
      </Form>
    </AuthCard>
  );
}
