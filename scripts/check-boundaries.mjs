#!/usr/bin/env node
// The doors between fluxo's parts (docs/architecture.md), enforced: every import of every source
// file is resolved to the part it lands in and checked against the table below. `npm test` runs it
// before the tests (scripts/test.sh) and fails on the first crossing, naming file, line and rule.
//
//   node scripts/check-boundaries.mjs [root]     # exit 0 when clean, 1 with the violations listed
//
// A part is a top-level folder; an entry may name a file or sub-folder to open a narrower door
// (the SDK may use the data contract, never the data implementation). Packages (bare specifiers)
// are not checked here: the parts that must stay small say so in their own headers.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Which parts each part may import; a file follows the longest key its path starts with. A part not listed here (test/, bench/, scripts/) may import
 * anything. Reasons:
 * - contract/, common/ and schema/ are the vocabulary everyone shares: they import nothing but each
 *   other (contract/ only the generated types, so the browser and the SDK can carry it).
 * - sdk/ is bundled into every flow and runs in hostile children: nothing server- or agent-side.
 * - agent/ ships as a single binary: no server, no proxy, no CLI (the CLI wraps the agent, not
 *   the other way round).
 * - server/ and auth-proxy/ never reach into each other or into the agent; they meet over HTTP.
 * - data/ is the agent-side data path: the contract and its implementations, no server.
 * - ui/ runs in a browser: only the schema (its SDL, for the explorer), its generated types and the
 *   dependency-free contract.
 */
export const rules = {
  // contract/: closed unions, naming rules, credential refusals; generated types are its only import.
  contract: ['contract', 'schema/generated'],
  common: ['common', 'contract', 'schema/generated'],
  schema: ['schema'],
  sdk: ['sdk', 'contract', 'common', 'data/contract.ts'],
  // The child runtime ships with the agent (never inside a bundle): it may run commands for flows.
  'sdk/runtime': ['sdk', 'contract', 'common', 'data/contract.ts', 'data/command.ts'],
  client: ['client', 'contract', 'common', 'schema'],
  storage: ['storage', 'contract', 'common'],
  data: ['data', 'contract', 'common', 'storage'],
  server: ['server', 'contract', 'common', 'schema', 'storage'],
  // The GraphQL layer is a transport: it reaches the core (FluxoService, server/core/) and never the
  // store, so every read and write checks roles and tenants in one place. `type:` admits type-only
  // imports: the records are the vocabulary both sides share. database-unavailable.ts classifies a
  // driver's error and opens nothing. The leader services (server/services/) and the core keep the
  // store; a file under server/graphql/ may not even name `.store` (storeReaches below).
  'server/graphql': ['server/graphql', 'server/core', 'type:server/store/records.ts', 'server/store/database-unavailable.ts', 'contract', 'common', 'schema'],
  // The generated resolver types name the records resolvers return (schema/codegen.ts mappers): types only.
  'server/graphql/generated': ['server/graphql', 'type:server/store', 'contract', 'common', 'schema'],
  'auth-proxy': ['auth-proxy', 'contract', 'common', 'schema'],
  // sdk/result-json.ts: the canonical JSON a task's inputs are hashed with, on both sides of the IPC.
  agent: ['agent', 'contract', 'common', 'schema', 'client', 'storage', 'data', 'sdk/runtime', 'sdk/result-json.ts'],
  cli: ['cli', 'contract', 'common', 'schema', 'client', 'storage', 'data', 'sdk', 'server', 'auth-proxy', 'agent'],
  ui: ['ui', 'contract', 'schema/generated', 'schema/fluxo.graphql'],
};

/**
 * Crossings that exist today and are scheduled to go (issue 15): each names the file and the
 * target it may still import, so nothing new can hide behind them.
 */
export const knownCrossings = [];

const SOURCE = /\.(ts|tsx|mts|mjs|js)$/;
const SKIP = new Set(['node_modules', 'dist', '.git', 'fixtures', 'generated-docs']);
// Static import/export specifiers and dynamic imports with a literal.
const IMPORT = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function* sourceFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name) || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (SOURCE.test(entry.name) && !entry.name.endsWith('.d.ts')) yield path;
  }
}

/** The repo-relative path an import lands on (`.js` written for a `.ts` source), or null for a package. */
function target(root, file, specifier) {
  if (!specifier.startsWith('.')) return null;
  // Bundler suffixes (`?raw`, `?url`) name the same file.
  const absolute = resolve(dirname(file), specifier.replace(/\?.*$/, ''));
  const candidates = [absolute, absolute.replace(/\.js$/, '.ts'), absolute.replace(/\.js$/, '.tsx'), `${absolute}.ts`, join(absolute, 'index.ts')];
  const found = candidates.find((c) => {
    try {
      return statSync(c).isFile();
    } catch {
      return false;
    }
  });
  return relative(root, found ?? absolute).split(sep).join('/');
}

const within = (path, door) => path === door || path.startsWith(`${door}/`);
/** Whether an import statement (its matched text) brings in types only. */
const typeOnly = (statement) => /^[\s;]*(?:import|export)\s+type\s/.test(statement);
/** Whether `door` admits an import of `to` written as `statement`. */
const admits = (door, to, statement) => (door.startsWith('type:') ? typeOnly(statement) && within(to, door.slice('type:'.length)) : within(to, door));

/** Parts that may not reach the store by any path, not even through an object that holds it. */
const STORE_FREE = ['server/graphql'];
const STORE_REACH = /\.store\b/g;

/** Places in a store-free file that reach `.store` (e.g. `ctx.service.store.getFlow`): `{ line, specifier }`. */
function storeReaches(text) {
  return [...text.matchAll(STORE_REACH)].map((match) => ({ line: text.slice(0, match.index).split('\n').length, specifier: match[0] }));
}

/** Every crossing under `root`: `{ file, line, specifier, from, to }`. */
export function findViolations(root) {
  const violations = [];
  for (const top of Object.keys(rules).filter((key) => !key.includes('/'))) {
    let isDir = false;
    try {
      isDir = statSync(join(root, top)).isDirectory();
    } catch {
      continue;
    }
    if (!isDir) continue;
    for (const file of sourceFiles(join(root, top))) {
      const from = relative(root, file).split(sep).join('/');
      const part = Object.keys(rules).filter((key) => within(from, key)).sort((a, b) => b.length - a.length)[0] ?? top;
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(IMPORT)) {
        const specifier = match[1] ?? match[2];
        const to = target(root, file, specifier);
        if (to === null || rules[part].some((door) => admits(door, to, match[0]))) continue;
        if (knownCrossings.some((k) => k.from === from && k.to === to)) continue;
        const line = text.slice(0, match.index + match[0].indexOf(specifier)).split('\n').length;
        violations.push({ file: from, line, specifier, from: part, to });
      }
      if (STORE_FREE.some((door) => within(from, door))) {
        for (const reach of storeReaches(text)) violations.push({ file: from, line: reach.line, specifier: reach.specifier, from: part, to: 'server/store' });
      }
    }
  }
  return violations;
}

function main() {
  const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
  const violations = findViolations(root);
  for (const v of violations) {
    if (v.specifier === '.store') {
      process.stderr.write(`${v.file}:${v.line}: ${v.from}/ may not reach the store (\`.store\`); call the core (FluxoService) instead (scripts/check-boundaries.mjs, docs/architecture.md)\n`);
      continue;
    }
    process.stderr.write(`${v.file}:${v.line}: ${v.from}/ may not import ${v.to} ('${v.specifier}'); ${v.from}/ may import ${rules[v.from].join(', ')} (scripts/check-boundaries.mjs, docs/architecture.md)\n`);
  }
  if (violations.length > 0) process.exit(1);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
