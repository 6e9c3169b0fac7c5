import { defineConfig, mergeConfig } from 'vitest/config';
import viteConfig from './vite.config.ts';

// Test type follows the file extension: *.test.ts is pure logic and runs in
// node; *.test.tsx renders components and runs in jsdom.
export default mergeConfig(
  viteConfig,
  defineConfig({
    test: {
      projects: [
        {
          extends: true,
          test: { name: 'unit', environment: 'node', include: ['src/**/*.test.ts'] },
        },
        {
          extends: true,
          test: {
            name: 'dom',
            environment: 'jsdom',
            include: ['src/**/*.test.tsx'],
            setupFiles: ['src/test/setup.ts'],
            // antd renders slowly in jsdom, and CI machines are shared: a
            // generous limit keeps a slow machine from failing a correct test.
            testTimeout: 30_000,
          },
        },
      ],
    },
  }),
);
