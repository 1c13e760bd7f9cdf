// Builds `dist/bin/fluxo-agent`, the agent as a Node single executable application (SEA): one file
// an agency copies to a host without Node. `npm run build:agent-binary`.
//
// Node 20's recipe (https://nodejs.org/docs/latest-v20.x/api/single-executable-applications.html):
//   1. the main script must be one CommonJS file: esbuild bundles scripts/sea/launcher.mjs with the
//      child runtime into it, and agent/binary-main.ts (the agent program) into a second file that
//      rides along as an asset (see the launcher for why). Both from the TypeScript sources: `tsc`
//      need not run first;
//   2. `node --experimental-sea-config` turns them into a preparation blob;
//   3. the blob is injected into a copy of this very `node` with postject. The blob is only valid for
//      the Node version that wrote it, so both steps use process.execPath.
// The binary runs on hosts with the same OS, architecture and C library as the build machine.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const require = createRequire(import.meta.url);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'dist', 'bin');
const binary = join(outDir, 'fluxo-agent');
// The fuse Node's SEA loader looks for; postject flips it to say "a blob is injected".
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const started = Date.now();
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
mkdirSync(outDir, { recursive: true });
// Intermediate files in a directory of this build's own, so two builds at once (test files run in
// parallel) cannot read each other's half-written files; only the finished binary is renamed into place.
const work = mkdtempSync(join(outDir, '.build-'));
const launcher = join(work, 'launcher.cjs');
const agent = join(work, 'agent.cjs');
const blob = join(work, 'fluxo-agent.blob');
const seaConfig = join(work, 'sea-config.json');

try {
  // 1. The bundles. `import.meta` does not exist in CommonJS: every `import.meta.url` (e.g. the child
  //    runtime's path in agent/spawn-flow-run.ts, only used outside the binary) becomes the URL of
  //    the running file, which inside the binary is the executable itself.
  const bundleOptions = {
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    charset: 'utf8',
    legalComments: 'none',
    define: {
      FLUXO_AGENT_VERSION: JSON.stringify(version),
      'import.meta.url': '__fluxo_import_meta_url',
    },
    banner: { js: 'var __fluxo_import_meta_url = require("node:url").pathToFileURL(__filename).href;' },
    plugins: [absentOptionalModules(['bufferutil', 'utf-8-validate'])],
    // DuckDB is a native addon a single file cannot carry: left as a require() that fails inside
    // the binary, where data/service.ts turns it into DATA_NOT_CONFIGURED saying so.
    external: ['@duckdb/node-api', '@duckdb/node-bindings'],
    logLevel: 'warning',
  };
  for (const [entry, outfile] of [['scripts/sea/launcher.mjs', launcher], ['agent/binary-main.ts', agent]]) {
    await build({ ...bundleOptions, entryPoints: [entry], outfile }); // rejects, after logging them, on errors
  }

  // 2. The preparation blob. No SEA warning: the child runtime's stderr becomes each run's log. No
  //    `useCodeCache`: on Node 20 a main script compiled with a code cache has no dynamic import()
  //    (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING), and the child runtime imports the flow's bundle with it.
  const config = { main: launcher, output: blob, disableExperimentalSEAWarning: true, assets: { 'agent.cjs': agent } };
  writeFileSync(seaConfig, `${JSON.stringify(config, null, 2)}\n`);
  execFileSync(process.execPath, ['--experimental-sea-config', seaConfig], { stdio: 'pipe' }); // its stderr is in the error

  // 3. A copy of node with the blob injected, renamed into place so a running agent's file is never
  //    half-written.
  const staging = join(work, 'fluxo-agent');
  copyFileSync(process.execPath, staging);
  chmodSync(staging, 0o755);
  // postject's own process: its ELF writer (LIEF) prints a screenful of harmless "Can't find string
  // offset" warnings, which only a failure's error message shows.
  execFileSync(process.execPath, [require.resolve('postject/dist/cli.js'), staging, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE], { stdio: 'pipe' });
  renameSync(staging, binary);

  const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  const kib = (bytes) => `${(bytes / 1024).toFixed(0)} KiB`;
  process.stdout.write(
    `built ${binary} (fluxo ${version}, node ${process.version}, ${process.platform}-${process.arch}): ` +
      `${mib(statSync(binary).size)} (launcher and child runtime ${kib(statSync(launcher).size)}, agent ${mib(statSync(agent).size)}), ` +
      `${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}

/**
 * Optional native add-ons a dependency `require`s inside try/catch (`ws` and its speed-ups): bundled
 * as a module that throws "not found", so the dependency takes its pure-JavaScript path and the
 * binary never loads code from the host's disk that it was not built with.
 */
function absentOptionalModules(names) {
  const filter = new RegExp(`^(${names.join('|')})$`); // plain package names, nothing to escape
  return {
    name: 'absent-optional-modules',
    setup(builder) {
      builder.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'absent' }));
      builder.onLoad({ filter: /.*/, namespace: 'absent' }, (args) => ({
        contents: `throw Object.assign(new Error(${JSON.stringify(`Cannot find module '${args.path}' (not part of fluxo-agent)`)}), { code: 'MODULE_NOT_FOUND' });`,
        loader: 'js',
      }));
    },
  };
}
