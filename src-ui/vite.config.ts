import { lezer } from '@lezer/generator/rollup';
import { defineConfig } from 'vitest/config';

// The app is served from disk by Tauri (WebKitGTK on Linux, so Safari 15 is
// the oldest engine we target). The CSP is `script-src 'self'`: nothing may
// be inlined as a script, so module preload polyfills stay off.
export default defineConfig({
  base: './',
  // Rhai's grammar (src/lang/rhai.grammar) is compiled to a parser at build time.
  plugins: [lezer()],
  clearScreen: false,
  oxc: {
    jsx: { runtime: 'automatic', importSource: 'preact' },
  },
  server: {
    port: 1420,
    strictPort: true,
    // The plugin manifest form reads its choices from the published schema
    // (../schemas, generated from the Rust types): serve that folder too.
    fs: { allow: ['.', '../schemas'] },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'safari15',
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
