// Builds one page per framework into OUT (`node build.mjs OUT`), as a site's own build would:
// React 19, Vue 3 and Svelte 5 are rendered on the server here, in Node (importing the SDK's ES
// module build there), into OUT/<framework>/index.html with the client bundle that hydrates it;
// Astro builds its static page into OUT/astro/. Development builds in the browser, so that each checks
// its hydration and says so in the console. Each page's widgets show the content keys
// /frameworks/<framework>/first, then .../second after a click on #next. Served under /frameworks/.
// The pages are dark by the common data-theme convention, which the widgets follow.
import { build as esbuild } from "esbuild";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { compile } from "svelte/compiler";

const HERE = import.meta.dirname;
const OUT = resolve(process.argv[2] || "dist");
// Server bundles import their framework from this folder's node_modules, so they live inside it.
const SSR = join(HERE, "node_modules", ".cache", "feelback-ssr");

const svelte = (generate) => ({
  name: "svelte",
  setup(build) {
    build.onLoad({ filter: /\.svelte$/ }, async ({ path }) => {
      const { js, warnings } = compile(await readFile(path, "utf8"), { filename: path, generate, dev: generate === "client" });
      if (warnings.length) throw new Error(warnings.map((warning) => warning.message).join("\n"));
      return { contents: js.code, loader: "js", resolveDir: dirname(path) };
    });
  },
});

const FRAMEWORKS = {
  react: { server: "react/server.jsx", client: "react/client.jsx" },
  vue: {
    server: "vue/server.js",
    client: "vue/client.js",
    // the full build: it compiles the template in the browser, with the same isCustomElement
    alias: { vue: "vue/dist/vue.esm-bundler.js" },
    define: { __VUE_OPTIONS_API__: "true", __VUE_PROD_DEVTOOLS__: "false", __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: "true" },
  },
  svelte: { server: "svelte/server.js", client: "svelte/client.js", plugins: (generate) => [svelte(generate)] },
};

const common = { absWorkingDir: HERE, bundle: true, jsx: "automatic", logLevel: "warning" };

async function serverRender(name, framework, props) {
  const outfile = join(SSR, name + ".mjs");
  await esbuild({
    ...common, entryPoints: [framework.server], outfile, platform: "node", format: "esm", packages: "external",
    plugins: framework.plugins?.("server") || [],
  });
  const { render } = await import(pathToFileURL(outfile).href + "?" + Date.now());
  return render(props);
}

async function buildPage(name, framework) {
  const props = { first: `/frameworks/${name}/first`, second: `/frameworks/${name}/second` };
  const html = await serverRender(name, framework, props);
  await esbuild({
    ...common, entryPoints: [framework.client], outfile: join(OUT, name, "client.js"), platform: "browser",
    format: "esm", conditions: ["development"], alias: framework.alias,
    define: { "process.env.NODE_ENV": '"development"', ...framework.define }, plugins: framework.plugins?.("client") || [],
  });
  await writeFile(
    join(OUT, name, "index.html"),
    `<!doctype html><html lang="en" data-theme="dark"><head><meta charset="utf-8"><link rel="icon" href="data:,">` +
      `<title>Feelback in ${name}</title><script type="module" src="client.js"></script></head>` +
      `<body><div id="app" data-first="${props.first}" data-second="${props.second}">${html}</div></body></html>`,
  );
}

async function buildAstro() {
  process.env.ASTRO_TELEMETRY_DISABLED = "1";
  const { build } = await import("astro");
  await build({
    root: join(HERE, "astro"), outDir: join(OUT, "astro"), base: "/frameworks/astro", cacheDir: join(SSR, "astro"),
    logLevel: "error",
  });
}

await rm(OUT, { recursive: true, force: true });
await mkdir(SSR, { recursive: true });
for (const [name, framework] of Object.entries(FRAMEWORKS)) await buildPage(name, framework);
await buildAstro();
