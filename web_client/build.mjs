// Bundles src/ into dist/: index.html, app.js, app.css (plus source maps).
// `node build.mjs` builds once (minified); `node build.mjs --watch` rebuilds on change.
import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = dirname(fileURLToPath(import.meta.url));
const dist = join(root, "dist");
const watch = process.argv.includes("--watch");

const options = {
  absWorkingDir: root,
  entryPoints: { app: "src/main.js" },
  outdir: dist,
  bundle: true,
  // Code split: Mermaid (large) is a dynamic import, loaded only when a diagram appears.
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  format: "esm",
  target: ["es2022"],
  minify: !watch,
  sourcemap: true,
  legalComments: "linked",
  loader: { ".css": "css" },
  logLevel: "info",
};

// index.html references app.js/app.css with a content hash in the query string, so a new
// deployment is never served with a stale script from a browser or CloudFront cache.
async function writeIndex() {
  const hash = createHash("sha256");
  for (const name of ["app.js", "app.css"]) hash.update(await readFile(join(dist, name)));
  const version = hash.digest("hex").slice(0, 12);
  const html = (await readFile(join(root, "index.html"), "utf8"))
    .replaceAll('href="./app.css"', `href="./app.css?v=${version}"`)
    .replaceAll('src="./app.js"', `src="./app.js?v=${version}"`);
  await writeFile(join(dist, "index.html"), html);
}

await mkdir(dist, { recursive: true });
if (watch) {
  const ctx = await esbuild.context({
    ...options,
    plugins: [{ name: "index", setup: (b) => b.onEnd((r) => r.errors.length || writeIndex()) }],
  });
  await ctx.watch();
} else {
  await esbuild.build(options);
  await writeIndex();
}
