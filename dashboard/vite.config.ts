import preact from '@preact/preset-vite';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The admin dashboard: a static single-page app served by the local server under /admin/backup/ (and
 * by the CDK app from S3). The build must work offline and satisfy `Content-Security-Policy:
 * default-src 'self'`: no inline scripts (no modulepreload polyfill), no data: URLs for assets.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/admin/backup/',
  plugins: [preact()],
  // `npx vite --config dashboard/vite.config.ts`: live reload, with the API of `npm start` behind it.
  server: { proxy: { '/api': `http://127.0.0.1:${process.env.PORT ?? 8000}` } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: 'es2022',
    sourcemap: false,
  },
});
