// The database a benchmark runs on, chosen by `--database sqlite|postgres`: fresh databases as the
// setting `fluxo server start --database` and `openStore()` take (a SQLite file path or a
// postgres:// URL), on a temporary directory or an embedded PostgreSQL started for the benchmark.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBenchPostgres, type BenchPostgres } from './postgres.js';

export type BackendKind = 'sqlite' | 'postgres';

export interface BenchBackend {
  kind: BackendKind;
  /** A scratch directory, removed on stop. */
  dir: string;
  /** A new, empty database; its setting (file path or URL). `pool` sizes a PostgreSQL pool. */
  fresh(name: string, pool?: number): Promise<string>;
  /** What the figures were measured on, for the printed result. */
  describe(): Record<string, unknown>;
  /** The embedded PostgreSQL, when kind is postgres. */
  postgres?: BenchPostgres;
  stop(): Promise<void>;
}

/** Reads `--database`; exits with a message on anything else. */
export function backendKind(value: string | undefined): BackendKind {
  if (value === undefined || value === 'sqlite') return 'sqlite';
  if (value === 'postgres') return 'postgres';
  console.error(`--database must be sqlite or postgres, got "${value}"`);
  process.exit(2);
}

/**
 * Parses repeated `--pg-setting name=value` options.
 *
 * @example pgSettings(['synchronous_commit=off']) // { synchronous_commit: 'off' }
 */
export function pgSettings(values: string[] | undefined): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const value of values ?? []) {
    const match = /^([a-z_.]+)=(.*)$/.exec(value);
    if (!match) {
      console.error(`--pg-setting takes name=value, got "${value}"`);
      process.exit(2);
    }
    settings[match[1]!] = match[2]!;
  }
  return settings;
}

/** Prepares the backend; for PostgreSQL this starts a server (a few seconds). */
export async function startBackend(kind: BackendKind, options: { pgSettings?: Record<string, string> } = {}): Promise<BenchBackend> {
  const dir = await mkdtemp(join(tmpdir(), 'fluxo-bench-'));
  if (kind === 'sqlite') {
    return {
      kind,
      dir,
      fresh: async (name) => join(dir, `${name}.db`),
      describe: () => ({ backend: 'sqlite' }),
      stop: () => rm(dir, { recursive: true, force: true }),
    };
  }
  const postgres = await startBenchPostgres({ settings: options.pgSettings ?? {} });
  return {
    kind,
    dir,
    postgres,
    fresh: async (name, pool) => `${await postgres.createDatabase(name)}${pool ? `?pool=${pool}` : ''}`,
    describe: () => ({ backend: 'postgres', settings: postgres.settings }),
    async stop() {
      await postgres.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
