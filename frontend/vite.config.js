// Production build for Django static files: fixed entry names under dist/, served at /static/.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/static/',
  worker: { format: 'es' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    cssCodeSplit: false,
    // The Cornerstone main chunk is several MB by design; do not warn about it.
    chunkSizeWarningLimit: 8000,
    rolldownOptions: {
      input: 'src/main.js',
      output: {
        entryFileNames: 'viewer.js',
        chunkFileNames: 'assets/[name]-[hash].js',
        assetFileNames: (asset) =>
          asset.names?.some((name) => name.endsWith('.css'))
            ? 'viewer.css'
            : 'assets/[name]-[hash][extname]',
      },
    },
  },
});
