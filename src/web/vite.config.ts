import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
/** Where `vite` (dev server) forwards /api: a running gateway, by default on 8443. */
const gateway = process.env.PORTCULLIS_DEV_API ?? `https://127.0.0.1:${process.env.PORTCULLIS_PORT ?? '8443'}`;

export default defineConfig({
  root,
  base: '/',
  plugins: [react()],
  build: {
    outDir: '../../dist/web',
    emptyOutDir: true,
    // Not "assets": /assets is a console route (the Assets page) and must stay the SPA's.
    assetsDir: 'static',
    target: 'es2022',
    // The gateway's CSP forbids inline scripts: never inline modules or assets as data: scripts.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    chunkSizeWarningLimit: 800,
    rolldownOptions: {
      output: {
        // Libraries change rarely: one long-cached vendor file, the pages load on demand. The
        // terminal (xterm.js) and the recording player (asciinema-player, with its WebAssembly)
        // only load with the pages that use them.
        codeSplitting: {
          groups: [
            { name: 'xterm', test: /node_modules[\\/]@xterm[\\/]/, priority: 2 },
            { name: 'asciinema', test: /node_modules[\\/](asciinema-player|solid-js)[\\/]/, priority: 2 },
            { name: 'vendor', test: /node_modules/, priority: 1 },
          ],
        },
      },
    },
  },
  server: {
    host: '127.0.0.1',
    port: 5173,
    strictPort: true,
    // Only the gateway's paths: /api/*.ts are this app's own modules (src/web/api) in dev.
    proxy: {
      '/api/v1': { target: gateway, changeOrigin: true, secure: false, ws: true },
      '/api/docs': { target: gateway, changeOrigin: true, secure: false },
    },
  },
  preview: { host: '127.0.0.1', port: 4173 },
});
