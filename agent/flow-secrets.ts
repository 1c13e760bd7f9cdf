// The secrets a flow declares (by name, in its registration) and the agent supplies (by value,
// from its host): the server never sees a value. A declared secret comes from the agent's secrets
// file (`--secrets-file`, KEY=VALUE lines) or, failing that, from the agent's own environment.
// Values are handed to exactly the flows that declare them and redacted from their logs.
import { readFileSync } from 'node:fs';
import { FluxoError } from '../common/errors.js';

/** Values shorter than this are not redacted: masking "a" or "1" everywhere would garble the logs. */
export const MIN_REDACTED_LENGTH = 4;
const REDACTED = '***';

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

/**
 * The values of the secrets a flow declares. Throws FluxoError BAD_USER_INPUT naming every secret
 * this agent has no value for; the run then fails with reason `missing-secret` before anything runs.
 */
export function resolveFlowSecrets(
  declared: readonly string[],
  sources: { file: ReadonlyMap<string, string> | null; env: NodeJS.ProcessEnv },
): Record<string, string> {
  const values: Record<string, string> = {};
  const missing: string[] = [];
  for (const name of declared) {
    const value = sources.file?.get(name) ?? sources.env[name];
    if (value === undefined || value === '') missing.push(name);
    else values[name] = value;
  }
  if (missing.length > 0) {
    throw new FluxoError('BAD_USER_INPUT', `the flow declares ${missing.length === 1 ? 'secret' : 'secrets'} ${missing.join(', ')}, which this agent has no value for (set ${missing.length === 1 ? 'it' : 'them'} in the agent's --secrets-file or environment)`);
  }
  return values;
}

/** A function that replaces every secret value (of at least MIN_REDACTED_LENGTH characters) with ***. */
export function redactorOf(values: readonly string[]): (text: string) => string {
  // Longest first, so a secret containing another is masked whole.
  const masked = [...new Set(values)].filter((value) => value.length >= MIN_REDACTED_LENGTH).sort((a, b) => b.length - a.length);
  if (masked.length === 0) return (text) => text;
  return (text) => masked.reduce((out, value) => out.split(value).join(REDACTED), text);
}
