/// <reference types="vitest/config" />
import { defineConfig } from "vite";

// Served by the API at /app/ (ingest_api/routers/panel_static.py); any static host works with the same base.
export default defineConfig({
  base: "/app/",
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: { target: "es2022", outDir: "dist", emptyOutDir: true, reportCompressedSize: false },
  test: { include: ["test/**/*.test.ts"], environment: "node" },
});
