// The main script of the `fluxo-agent` single executable (bundled by scripts/build-agent-binary.mjs).
// One executable, two programs, chosen by the first argument:
//
//   fluxo-agent __fluxo-child-runtime   the child runtime of one flow run (sdk/runtime/child.ts),
//                                       spawned by the agent with an IPC channel
//   fluxo-agent <anything else>         the agent program (agent/binary-main.ts)
//
// Node compiles the whole main script at every start, and a child starts once per flow run. So
// this script carries only the child runtime (a few KiB), and the agent (commander, execa, pino,
// undici, the GraphQL and storage clients: megabytes that cost a child ~50 ms to parse) is the
// embedded asset `agent.cjs`, compiled only when the agent itself starts.
import Module from 'node:module';
import { getAsset } from 'node:sea';

/**
 * `CHILD_RUNTIME_ARGUMENT` of agent/spawn-flow-run.ts, repeated: importing that module would put
 * execa into every child. test/agent/binary.test.ts starts the binary with the imported constant.
 */
const CHILD_RUNTIME_ARGUMENT = '__fluxo-child-runtime';

// argv is [executable, executable again (the "script"), ...arguments].
if (process.argv[2] === CHILD_RUNTIME_ARGUMENT) {
  // The flow sees the argv of `node child.js`: no hidden argument.
  process.argv.splice(2, 1);
  void import('../../sdk/runtime/child.ts');
} else {
  // A CommonJS module of the real loader, named after the executable: its `require` and `import()`
  // work as in a file on disk (the main script's `require` only knows built-in modules), and its
  // `__filename`, which the bundle uses for `import.meta.url`, is the executable.
  const agent = new Module(process.execPath, null);
  agent.filename = process.execPath;
  agent._compile(getAsset('agent.cjs', 'utf8'), process.execPath);
}
