import { Card, Empty, Typography } from 'antd';
import type { ReactNode } from 'react';
import { PageHeader } from './PageHeader';

/** A page whose feature is planned but not built yet. */
export function ComingLater(props: { title: string; description: ReactNode; icon?: ReactNode }) {
  return (
    <>
      <PageHeader title={props.title} />
      <Card>
        <Empty
          image={props.icon ?? Empty.PRESENTED_IMAGE_SIMPLE}
          style={{ padding: '48px 0' }}
          description={
            <>
              <Typography.Title level={5} style={{ marginBottom: 4 }}>
                Coming in a later release
              </Typography.Title>
              <Typography.Text type="secondary">{props.description}</Typography.Text>
            </>
          }
        />
      </Card>
    </>
  );
}
