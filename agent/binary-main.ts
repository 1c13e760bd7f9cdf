// The agent program of `fluxo-agent`, the agent as one Node single executable application (built
// by scripts/build-agent-binary.mjs into dist/bin/fluxo-agent):
//
//   fluxo-agent start --api ... --labels ...     the same options and FLUXO_* variables as `fluxo agent start`
//
// Inside the binary this module is an embedded asset that scripts/sea/launcher.mjs compiles when
// the binary is not started as a flow run's child runtime; the agent then spawns the binary itself
// for every run (agent/spawn-flow-run.ts), so an agency host needs no Node install. Outside the
// binary, `node dist/agent/binary-main.js start ...` is the same program with `node` children.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { registerAgentCommand } from './command.js';
import { failWith } from '../client/exit-codes.js';

/** Set by the binary's build (esbuild `define`) to the package version. */
declare const FLUXO_AGENT_VERSION: string | undefined;

const program = new Command('fluxo-agent')
  .description('the fluxo agent as one executable: claims flow runs by label and runs each in a child process of itself')
  .version(packageVersion(), '-V, --version', 'print the version')
  .showHelpAfterError()
  .exitOverride((error) => {
    // As in `fluxo`: usage errors exit 2 like every other bad input; --help and --version exit 0.
    process.exit(error.exitCode === 0 ? 0 : 2);
  });

// `fluxo agent start` becomes `fluxo-agent start`: the one registration both use (agent/command.ts,
// which the CLI imports too), so the two cannot drift apart in options, variables or defaults. The
// binary imports nothing of cli/ (scripts/check-boundaries.mjs).
const cli = new Command('fluxo');
registerAgentCommand(cli);
const agentCommand = cli.commands.find((command) => command.name() === 'agent');
if (!agentCommand) throw new Error('agent/command.ts registered no "agent" command');
for (const command of agentCommand.commands) {
  command.copyInheritedSettings(program);
  program.addCommand(command);
}

program.parseAsync(process.argv).catch(failWith);

/**
 * The version stamped in by the build; unbundled (`node dist/agent/binary-main.js`), the version of
 * the fluxo package.json above this file.
 */
function packageVersion(): string {
  if (typeof FLUXO_AGENT_VERSION === 'string') return FLUXO_AGENT_VERSION;
  for (let dir = dirname(fileURLToPath(import.meta.url)); dirname(dir) !== dir; dir = dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (manifest.name === 'fluxo' && typeof manifest.version === 'string') return manifest.version;
    } catch {
      // no readable package.json here: look further up
    }
  }
  return 'unknown';
}
