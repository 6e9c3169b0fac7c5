import { QueryClientProvider, type QueryClient } from '@tanstack/react-query';
import { App as AntApp, ConfigProvider } from 'antd';
import type { ReactNode } from 'react';
import { AuthProvider } from './auth';

/** Everything the pages expect around them: query cache, theme, auth state. */
export function Providers(props: { queryClient: QueryClient; children: ReactNode }) {
  return (
    <QueryClientProvider client={props.queryClient}>
      <ConfigProvider
        theme={{
          token: { colorPrimary: '#1677ff', borderRadius: 6 },
          components: { Layout: { headerBg: '#ffffff', siderBg: '#ffffff' } },
        }}
      >
        <AntApp>
          <AuthProvider>{props.children}</AuthProvider>
        </AntApp>
      </ConfigProvider>
    </QueryClientProvider>
  );
}
