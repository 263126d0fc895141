/**
 * The shipped CLI as a bundle (run by `npm run build` after tsc): esbuild joins the compiled
 * dist/src/cli/main.js and the npm packages it imports into dist/bin/ovpn-ts.js, which
 * bin/ovpn-ts runs. Start-up pays for one file's compile instead of ~120 ES modules and ~60
 * CommonJS files resolved, read and linked one by one (figures in docs/benchmarks.md).
 *
 *   dist/src/cli/main.js ──esbuild (ESM, code splitting)──▶ dist/bin/ovpn-ts.js   the connect path
 *                                                       └─▶ dist/bin/<name>-<hash>.js   each dynamic
 *                                                            import() (--help with yargs, --check,
 *                                                            the client itself, DNS, the journal …)
 *
 * Stays outside the bundle, loaded from node_modules at run time: koffi and netlink (native
 * code), node-forge (required only for legacy PKCS#12, see src/material/load.ts) and winston's
 * File transport (only with `log FILE`). `@dabh/diagnostics`, winston's own debug printer (it
 * prints only with DEBUG=winston:*), is replaced by a no-op: its colour tables cost ~5 ms.
 * Code that starts a worker from its own file must add that file to ENTRIES (as worker-entry is).
 */
import { rmSync } from 'node:fs';
import { build, type Plugin } from 'esbuild';

const OUT_DIR = 'dist/bin';
/**
 * Entry points: the CLI, and every file loaded by path at run time. The data-plane worker is
 * started with `new URL('./worker-entry.js', import.meta.url)` (src/dataplane/worker-host.ts),
 * which in the bundle resolves next to the chunk that holds worker-host: dist/bin/worker-entry.js;
 * the privileged helper likewise (`new URL('./helper.js', ...)` in src/privsep/remote.ts).
 */
const ENTRIES = { 'ovpn-ts': 'dist/src/cli/main.js', 'worker-entry': 'dist/src/dataplane/worker-entry.js', helper: 'dist/src/privsep/helper.js' };
const EXTERNAL = ['koffi', 'netlink', 'node-forge'];

/** Bundled CommonJS code calls require() for Node's built-ins; ES module output has no require. */
const REQUIRE_SHIM = "import { createRequire as __ovtsCreateRequire } from 'node:module'; const require = __ovtsCreateRequire(import.meta.url);";

const noDiagnostics: Plugin = {
  name: 'no-winston-diagnostics',
  setup(b) {
    b.onResolve({ filter: /^@dabh\/diagnostics$/ }, () => ({ path: 'diagnostics', namespace: 'ovts-stub' }));
    b.onLoad({ filter: /.*/, namespace: 'ovts-stub' }, () => ({ contents: 'module.exports = () => () => {};', loader: 'js' }));
  },
};

rmSync(OUT_DIR, { recursive: true, force: true });
const result = await build({
  entryPoints: ENTRIES,
  outdir: OUT_DIR,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: EXTERNAL,
  banner: { js: REQUIRE_SHIM },
  plugins: [noDiagnostics],
  chunkNames: '[name]-[hash]',
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
});
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(`bundled ${Object.keys(ENTRIES).join(', ')} into ${OUT_DIR}/ (${Object.keys(result.metafile.outputs).length} files, ${(bytes / 1024).toFixed(0)} KiB)`);
