#!/usr/bin/env node
// The `fluxo` command. Each subcommand lives in cli/commands/<noun>.ts and registers itself here.
import { Command } from 'commander';
import { registerServerCommand } from './commands/server.js';
import { registerProxyCommand } from './commands/proxy.js';
import { registerTokenCommand } from './commands/token.js';
import { registerKeysCommand } from './commands/keys.js';
import { registerAgentCommand } from './commands/agent.js';
import { registerRunCommand } from './commands/run.js';
import { registerRegisterCommand } from './commands/register.js';
import { registerFlowsCommand } from './commands/flows.js';
import { registerRunsCommand } from './commands/runs.js';
import { registerLogsCommand } from './commands/logs.js';
import { registerDevCommand } from './commands/dev.js';
import { failWith } from './exit-codes.js';

const program = new Command('fluxo')
  .description('fluxo: orchestration for public-sector data teams (server, auth proxy, agents, flows)')
  .showHelpAfterError()
  .exitOverride((error) => {
    // commander's own usage errors exit 2 like every other bad input; --help and --version exit 0.
    process.exit(error.exitCode === 0 ? 0 : 2);
  });

for (const register of [
  registerServerCommand,
  registerProxyCommand,
  registerTokenCommand,
  registerKeysCommand,
  registerAgentCommand,
  registerRunCommand,
  registerRegisterCommand,
  registerFlowsCommand,
  registerRunsCommand,
  registerLogsCommand,
  registerDevCommand,
]) {
  register(program);
}

program.parseAsync(process.argv).catch(failWith);
