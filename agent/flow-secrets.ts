// The secrets a flow declares (by name, in its registration) and their values. A declared secret
// comes, first match wins, from:
//   1. the claim answer: the tenant stored it on the server (`fluxo secrets set`);
//   2. the agent's secrets file (`--secrets-file`, KEY=VALUE lines);
//   3. the agent's environment, only for the names the operator listed (`--secrets-from-env`).
// Never from the rest of the agent's environment: a flow's author chooses the names it declares,
// so a name like SSL_CERT_FILE would otherwise read any variable of the agent's host.
// The tenant's stored value wins so that rotating a secret centrally reaches every agent at once;
// an agency that keeps a value on its own host only (never on the server) simply does not store it.
// Values are handed to exactly the flows that declare them, masked in everything that leaves the
// agent (agent/secret-masker.ts), and never written to disk by the agent.
import { readFileSync } from 'node:fs';
import { FluxoError } from '../common/errors.js';

/** Parses a secrets file: `NAME=value` lines, `#` comments, optional single or double quotes. */
export function readSecretsFile(path: string): ReadonlyMap<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new FluxoError('BAD_USER_INPUT', `secretsFile: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { cause: error });
  }
  const secrets = new Map<string, string>();
  text.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(trimmed);
    if (!match) throw new FluxoError('BAD_USER_INPUT', `secretsFile: ${path} line ${index + 1} is not NAME=value`);
    const raw = match[2]!;
    const quoted = /^(['"])(.*)\1$/.exec(raw);
    secrets.set(match[1]!, quoted ? quoted[2]! : raw);
  });
  return secrets;
}

/** Where the values of a run's declared secrets may come from, in order of precedence. */
export interface FlowSecretSources {
  /** Values the server handed out with the claim (the tenant's stored secrets). */
  server: readonly { name: string; value: string }[];
  /** The agent's secrets file, or null without one. */
  file: ReadonlyMap<string, string> | null;
  /** Values of the environment variables the operator allowed (`secretsFromEnv`), or null without any. */
  env: ReadonlyMap<string, string> | null;
}

/**
 * The values of the variables `names` in `env` (those set and not empty): the only part of the
 * agent's environment a declared secret may come from.
 *
 * @example secretsFromEnvironment(['DB_PASSWORD'], process.env) // Map { 'DB_PASSWORD' => '...' }
 */
export function secretsFromEnvironment(names: readonly string[], env: NodeJS.ProcessEnv): ReadonlyMap<string, string> | null {
  if (names.length === 0) return null;
  const values = new Map<string, string>();
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value !== '') values.set(name, value);
  }
  return values;
}

/**
 * The values of the secrets a flow declares, from `sources` in order of precedence (only declared
 * names: a value the server sent for another name is ignored). Throws FluxoError BAD_USER_INPUT
 * naming every secret found nowhere; the run then fails with reason `missing-secret` before
 * anything runs.
 */
export function resolveFlowSecrets(declared: readonly string[], sources: FlowSecretSources): Record<string, string> {
  const fromServer = new Map(sources.server.map((secret) => [secret.name, secret.value]));
  const values: Record<string, string> = {};
  const missing: string[] = [];
  for (const name of declared) {
    const value = fromServer.get(name) ?? sources.file?.get(name) ?? sources.env?.get(name);
    if (value === undefined || value === '') missing.push(name);
    else values[name] = value;
  }
  if (missing.length > 0) {
    throw new FluxoError('BAD_USER_INPUT', `the flow declares ${missing.length === 1 ? 'secret' : 'secrets'} ${missing.join(', ')}, which this agent has no value for (store ${missing.length === 1 ? 'it' : 'them'} on the server with \`fluxo secrets set\`, or give this agent ${missing.length === 1 ? 'a value' : 'values'} with --secrets-file or --secrets-from-env)`);
  }
  return values;
}
