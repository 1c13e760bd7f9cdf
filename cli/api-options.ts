// The options every API-calling command shares: where the API is and which token to use.
import type { Command } from 'commander';
import { GraphQLClient } from '../client/graphql-client.js';
import { FluxoError } from '../common/errors.js';

export interface ApiOptions {
  api?: string;
  token?: string;
  json?: boolean;
}

/**
 * Adds --api, --token (defaults from FLUXO_API / FLUXO_TOKEN) and --json to a command. FLUXO_TOKEN
 * is read when the client is made, never as the option's default: commander prints defaults in
 * `--help` and after a usage error, which would put the token in CI logs.
 */
export function withApiOptions(command: Command): Command {
  return command
    .option('--api <url>', 'the proxy GraphQL URL (env FLUXO_API)', process.env.FLUXO_API)
    .option('--token <jwt>', 'bearer token (env FLUXO_TOKEN, which keeps it off the command line)')
    .option('--json', 'print JSON instead of a table', false);
}

/** A client for the command's options; fails with BAD_USER_INPUT when the API or token is missing. */
export function clientFrom(options: ApiOptions): GraphQLClient {
  if (!options.api) throw new FluxoError('BAD_USER_INPUT', 'no API URL: pass --api or set FLUXO_API (fluxo dev writes it to <data-dir>/dev.json)');
  const token = options.token || process.env.FLUXO_TOKEN;
  if (!token) throw new FluxoError('TOKEN_MISSING', 'no token: pass --token or set FLUXO_TOKEN (create one with `fluxo token create`)');
  return new GraphQLClient({ apiUrl: options.api, token });
}

/** Parses a comma-separated label list; empty strings are dropped. */
export function parseLabels(value: string | undefined): string[] {
  return (value ?? '').split(',').map((label) => label.trim()).filter(Boolean);
}

/** Runs `work` with a client for the options and closes the client afterwards. */
export async function withClient(options: ApiOptions, work: (client: GraphQLClient) => Promise<void>): Promise<void> {
  const client = clientFrom(options);
  try {
    await work(client);
  } finally {
    await client.close();
  }
}
