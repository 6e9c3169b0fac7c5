import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The Go package console/ embeds the build output (go build -tags embed).
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: '../console/dist',
    emptyOutDir: true,
    // antd alone is ~1 MB minified; keep vendors in their own chunks so a
    // console release does not make browsers download them again.
    chunkSizeWarningLimit: 1200,
    rolldownOptions: {
      output: {
        codeSplitting: {
          groups: [
            { name: 'react', test: /node_modules[\\/](react|react-dom|react-router|scheduler)[\\/]/, priority: 2 },
            { name: 'antd', test: /node_modules[\\/](antd|@ant-design|@rc-component|rc-[^\\/]+|dayjs)[\\/]/, priority: 1 },
            { name: 'vendor', test: /node_modules/ },
          ],
        },
      },
    },
  },
  server: {
    proxy: {
      '/api': { target: 'http://127.0.0.1:8080', changeOrigin: false },
    },
  },
});
