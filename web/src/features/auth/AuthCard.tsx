import { Card, Flex, Typography } from 'antd';
import type { ReactNode } from 'react';
import { Logo } from '../../components/Logo';

export function AuthCard(props: { title: string; subtitle: ReactNode; children: ReactNode; footer: ReactNode }) {
  return (
    <Flex
      vertical
      align="center"
      justify="center"
      style={{ minHeight: '100vh', padding: 24, background: 'linear-gradient(180deg, #eef4ff 0%, #f5f7fa 60%)' }}
    >
      <Flex align="center" gap={10} style={{ marginBottom: 24 }}>
        <Logo size={36} />
        <Typography.Title level={3} style={{ margin: 0 }}>
          Orbit
        </Typography.Title>
      </Flex>
      <Card style={{ width: '100%', maxWidth: 420 }} styles={{ body: { padding: 32 } }}>
        <Typography.Title level={4} style={{ marginTop: 0, marginBottom: 4 }}>
          {props.title}
        </Typography.Title>
        <Typography.Paragraph type="secondary">{props.subtitle}</Typography.Paragraph>
        {props.children}
      </Card>
      <div style={{ marginTop: 16 }}>{props.footer}</div>
    </Flex>
  );
}
