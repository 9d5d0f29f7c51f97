import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The desktop shell loads ui/dist from disk; nothing is fetched from a network at run time.
export default defineConfig({
  plugins: [svelte()],
  clearScreen: false,
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Keep every asset a file: the CSP allows no inline scripts or styles.
    assetsInlineLimit: 0,
  },
  // Component tests (a `// @vitest-environment jsdom` file) mount Svelte in jsdom, which needs
  // Svelte's browser build (its default export is the server one, where `mount` throws). Only
  // under Vitest: the app's build keeps Vite's own conditions.
  resolve: process.env.VITEST ? { conditions: ['browser'] } : undefined,
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
