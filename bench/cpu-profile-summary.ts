// Where a process's CPU time went, from a V8 .cpuprofile (`node --cpu-prof`, or
// `server-throughput.js --cpu-prof <dir>`): self time by module (an npm package, a file of ours,
// Node's internals, garbage collection) and by function.
//
//   npm run build && node dist/bench/cpu-profile-summary.js <file.cpuprofile> [--top 40] [--per <n requests>]
//
// `--per` divides by a request count, to read the figures as microseconds per request.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/**
 * The module a frame belongs to: `pkg:<name>` for node_modules, the path under dist/ for ours,
 * `node:<internal>` for Node's JavaScript, or V8's own labels ((garbage collector), (program), (idle)).
 *
 * @example moduleOf({ url: 'file:///w/node_modules/graphql/execution/execute.js', ... }) // 'pkg:graphql'
 */
export function moduleOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (inModules) return `pkg:${inModules[1]}`;
  const ours = /\/dist\/(.+)$/.exec(url);
  if (ours) return ours[1]!;
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  return url;
}

/** The part of the request path a module belongs to, for the summary by part. */
export function partOf(module: string, functionName: string): string {
  if (module === '(garbage collector)') return 'garbage collection';
  if (module === 'pkg:better-sqlite3' || module === 'pkg:pg' || module === 'pkg:pg-protocol' || module.startsWith('server/store/')) {
    return module.includes('audit') ? 'audit (store)' : 'store';
  }
  if (module === 'pkg:jose' || module.startsWith('node:internal/crypto') || module === 'common/identity.js') return 'crypto (identity, lease binding, ids)';
  if (module.startsWith('pkg:@apollo/') || module === 'pkg:negotiator') return 'Apollo pipeline';
  if (module === 'pkg:graphql' || module.startsWith('pkg:@graphql-tools')) return 'graphql-js (parse, validate, execute)';
  if (module.includes('audit')) return 'audit (plugin, group commit)';
  if (module.startsWith('server/graphql/')) return 'fluxo GraphQL layer (resolvers, field permissions, limits)';
  if (module.startsWith('server/core/')) return 'core (service)';
  if (module.startsWith('auth-proxy/')) return 'proxy code';
  if (module.startsWith('server/') || module.startsWith('common/')) return 'server HTTP handling, other fluxo';
  if (/node:(_http|net|internal\/(streams|stream_base|http|url))/.test(module) || ['writev', 'writeBuffer', 'writeUtf8String', 'writeLatin1String'].includes(functionName)) {
    return 'HTTP, sockets, streams';
  }
  if (module.startsWith('node:internal/modules') || module.startsWith('node:internal/deps')) return 'module loading (start-up)';
  if (module === 'pkg:pino' || module === 'pkg:sonic-boom' || module === 'common/logger.js' || functionName === 'writeString') return 'logging';
  return `other (${module})`;
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '40' }, per: { type: 'string' } } });
if (positionals.length !== 1) {
  console.error('usage: cpu-profile-summary.js <file.cpuprofile> [--top 40] [--per <requests>]');
  process.exit(2);
}
const profile = JSON.parse(await readFile(positionals[0]!, 'utf8')) as CpuProfile;
const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
const byModule = new Map<string, number>();
const byPart = new Map<string, number>();
const byFunction = new Map<string, number>();
let total = 0;
let idle = 0;
profile.samples.forEach((id, index) => {
  // A sample's delta is the time until the next one: attribute it to this sample's frame.
  const micros = profile.timeDeltas[index + 1] ?? 0;
  const frame = frames.get(id)!;
  if (frame.functionName === '(idle)') {
    idle += micros;
    return;
  }
  total += micros;
  const module = moduleOf(frame);
  byModule.set(module, (byModule.get(module) ?? 0) + micros);
  const part = partOf(module, frame.functionName);
  byPart.set(part, (byPart.get(part) ?? 0) + micros);
  const name = `${frame.functionName || '(anonymous)'} ${frame.url.startsWith('node:') ? frame.url : module}:${frame.lineNumber + 1}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + micros);
});
const per = values.per ? Number(values.per) : null;
const top = Number(values.top);
const row = (micros: number): string => {
  const share = `${((100 * micros) / total).toFixed(1).padStart(5)}%`;
  const ms = `${(micros / 1000).toFixed(0).padStart(7)} ms`;
  return per ? `${share} ${ms} ${(micros / per).toFixed(1).padStart(7)} µs/req` : `${share} ${ms}`;
};
console.log(`busy ${(total / 1000).toFixed(0)} ms, idle ${(idle / 1000).toFixed(0)} ms, wall ${((profile.endTime - profile.startTime) / 1000).toFixed(0)} ms`);
console.log('\nself time by part of the path');
for (const [name, micros] of [...byPart].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${row(micros)}  ${name}`);
console.log('\nself time by module');
for (const [name, micros] of [...byModule].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${row(micros)}  ${name}`);
console.log('\nself time by function');
for (const [name, micros] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${row(micros)}  ${name}`);
