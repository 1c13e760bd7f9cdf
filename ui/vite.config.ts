// Builds the web interface (ui/) into dist/ui, which the server serves as static files
// (server/ui-static.ts). Everything is bundled: no CDN, no external fonts (docs/ui.md).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  plugins: [react()],
  resolve: {
    // graphiql 4.0.5 asks for @graphiql/react ^0.33 while npm gave its two plugins their own 0.34.1
    // copies: two copies are two React contexts and an explorer that throws. Everything uses the
    // plugins' 0.34.1 (it exports all graphiql 4.0.5 imports).
    alias: [{ find: /^@graphiql\/react$/, replacement: fileURLToPath(new URL('../node_modules/@graphiql/plugin-history/node_modules/@graphiql/react/dist/index.js', import.meta.url)) }],
    dedupe: ['react', 'react-dom'],
  },
  build: {
    outDir: fileURLToPath(new URL('../dist/ui', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // GraphiQL is one lazy chunk of ~1 MB, loaded only on the explorer page.
    chunkSizeWarningLimit: 1500,
    // No inline polyfill script: the Content-Security-Policy allows scripts from 'self' only.
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
    rolldownOptions: {
      // GraphiQL's React compiler runtime starts with "use no memo", which bundling drops harmlessly.
      onwarn(warning, warn) {
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
  // `vite --config ui/vite.config.ts` during UI work: the API of a running `fluxo dev`.
  server: { proxy: { '/graphql': { target: 'http://127.0.0.1:4000', ws: true }, '/ui-config.json': 'http://127.0.0.1:4000' } },
});
