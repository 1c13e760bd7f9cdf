#!/usr/bin/env node
// The `fluxo` command. Each subcommand lives in cli/commands/<noun>.ts and registers itself here.
// Only the command being run is loaded: `fluxo agent start` should not pay (in memory and start-up
// time) for the server's Apollo, SQLite and esbuild. `fluxo --help` loads them all.
import { Command } from 'commander';
import { failWith } from '../client/exit-codes.js';

type Register = (program: Command) => void;

const commands: Record<string, () => Promise<Register>> = {
  server: async () => (await import('./commands/server.js')).registerServerCommand,
  proxy: async () => (await import('./commands/proxy.js')).registerProxyCommand,
  token: async () => (await import('./commands/token.js')).registerTokenCommand,
  audit: async () => (await import('./commands/audit.js')).registerAuditCommand,
  keys: async () => (await import('./commands/keys.js')).registerKeysCommand,
  secrets: async () => (await import('./commands/secrets.js')).registerSecretsCommand,
  notifications: async () => (await import('./commands/notifications.js')).registerNotificationsCommand,
  agent: async () => (await import('../agent/command.js')).registerAgentCommand,
  agents: async () => (await import('./commands/agents.js')).registerAgentsCommand,
  run: async () => (await import('./commands/run.js')).registerRunCommand,
  register: async () => (await import('./commands/register.js')).registerRegisterCommand,
  flows: async () => (await import('./commands/flows.js')).registerFlowsCommand,
  schedules: async () => (await import('./commands/schedules.js')).registerSchedulesCommand,
  limits: async () => (await import('./commands/limits.js')).registerLimitsCommand,
  tables: async () => (await import('./commands/tables.js')).registerTablesCommand,
  runs: async () => (await import('./commands/runs.js')).registerRunsCommand,
  logs: async () => (await import('./commands/logs.js')).registerLogsCommand,
  dev: async () => (await import('./commands/dev.js')).registerDevCommand,
};

async function main(): Promise<void> {
  const program = new Command('fluxo')
    .description('fluxo: orchestration for public-sector data teams (server, auth proxy, agents, flows)')
    .showHelpAfterError()
    .exitOverride((error) => {
      // commander's own usage errors exit 2 like every other bad input; --help and --version exit 0.
      process.exit(error.exitCode === 0 ? 0 : 2);
    });
  const requested = process.argv[2];
  const load = requested && requested in commands ? [commands[requested]!] : Object.values(commands);
  for (const register of await Promise.all(load.map((loader) => loader()))) register(program);
  await program.parseAsync(process.argv);
}

main().catch(failWith);
