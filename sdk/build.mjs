// Builds dist/v1/feelback.js (script tag, IIFE) and dist/v1/feelback.mjs (ES module), minified;
// with --tests also the unit tests into dist/test/ for node's own test runner.
import { build } from "esbuild";
import { readdirSync, writeFileSync } from "node:fs";

const common = { bundle: true, minify: true, target: "es2020", legalComments: "none", logLevel: "warning" };
await build({ ...common, entryPoints: ["src/script.ts"], outfile: "dist/v1/feelback.js", format: "iife" });
await build({ ...common, entryPoints: ["src/index.ts"], outfile: "dist/v1/feelback.mjs", format: "esm" });
if (process.argv.includes("--tests")) {
  const tests = readdirSync("test").filter((name) => name.endsWith(".test.ts"));
  await build({
    bundle: true, platform: "node", format: "esm", target: "node20", logLevel: "warning",
    entryPoints: tests.map((name) => "test/" + name), outdir: "dist/test", outExtension: { ".js": ".mjs" },
  });
}
writeFileSync("dist/.built", new Date().toISOString() + "\n");
