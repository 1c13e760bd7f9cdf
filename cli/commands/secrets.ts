// `fluxo secrets set | list | delete | rekey`: the tenant's secrets on the server. A value is never
// taken as a command-line argument, where it would land in the shell history and in `ps` for every
// user of the machine: it comes from a file or from standard input (typed without echo on a terminal).
import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { FluxoError } from '../../common/errors.js';
import { DEFAULT_KEYS_DIR, findSecretsKeyring } from '../../common/keys.js';
import { SecretCipher } from '../../server/core/secret-cipher.js';
import { MAX_SECRET_VALUE_BYTES, TenantSecrets } from '../../server/core/secrets.js';
import { withApiOptions, withClient, type ApiOptions } from '../api-options.js';
import type { DeleteSecretMutation, DeleteSecretMutationVariables, SecretsQuery, SetSecretMutation, SetSecretMutationVariables } from '../../schema/generated/operations.js';
import { formatInstant, printJson, printTable } from '../format.js';


const SET_SECRET = /* GraphQL */ `
  mutation SetSecret($input: SetSecretInput!) { setSecret(input: $input) { name createdAt updatedAt updatedBy } }
`;
const LIST_SECRETS = /* GraphQL */ `
  query Secrets { secrets { name createdAt updatedAt updatedBy } }
`;
const DELETE_SECRET = /* GraphQL */ `
  mutation DeleteSecret($name: String!) { deleteSecret(name: $name) }
`;

type SecretRow = SecretsQuery['secrets'][number];

interface SetOptions extends ApiOptions {
  fromFile?: string;
  fromStdin?: boolean;
}

/** One trailing line break is dropped: `echo value > file` and typing then Enter both add one. */
function withoutFinalNewline(text: string): string {
  return text.replace(/\r?\n$/, '');
}

/** The server's limit, checked here too so a huge file is refused before it is sent. */
function checkSize(bytes: number, source: string): void {
  if (bytes > MAX_SECRET_VALUE_BYTES) throw new FluxoError('BAD_USER_INPUT', `the value from ${source} is ${bytes} bytes; a secret holds at most ${MAX_SECRET_VALUE_BYTES} (64 KiB)`);
}

async function readValueFile(path: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new FluxoError('BAD_USER_INPUT', `--from-file: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, { cause: error });
  }
  checkSize(bytes.byteLength, path);
  return withoutFinalNewline(bytes.toString('utf8'));
}

/** Reads a piped standard input to its end. */
async function readPipedStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    checkSize(size, 'standard input');
    chunks.push(chunk);
  }
  return withoutFinalNewline(Buffer.concat(chunks).toString('utf8'));
}

/** Reads one line from the terminal without echoing it. */
async function promptHidden(name: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(`value of ${name} (not shown, Enter to finish): `);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  try {
    return await new Promise<string>((resolve, reject) => {
      let value = '';
      const onData = (chunk: string): void => {
        for (const char of chunk) {
          if (char === '\r' || char === '\n' || char === '\u0004') {
            stdin.off('data', onData);
            return resolve(value);
          }
          if (char === '\u0003') {
            stdin.off('data', onData);
            return reject(new FluxoError('BAD_USER_INPUT', 'cancelled; nothing was stored'));
          }
          if (char === '\u007f' || char === '\b') value = value.slice(0, -1);
          else value += char;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    process.stderr.write('\n');
  }
}

async function valueFor(name: string, options: SetOptions, extra: string | undefined): Promise<string> {
  if (extra !== undefined) {
    throw new FluxoError(
      'BAD_USER_INPUT',
      'a value on the command line would land in your shell history and in `ps`; nothing was stored. Use --from-file <file> or --from-stdin (e.g. `printf %s "$VALUE" | fluxo secrets set NAME --from-stdin`)',
    );
  }
  if (options.fromFile !== undefined && options.fromStdin) throw new FluxoError('BAD_USER_INPUT', 'give either --from-file or --from-stdin, not both');
  if (options.fromFile !== undefined) return readValueFile(options.fromFile);
  if (options.fromStdin) return process.stdin.isTTY ? promptHidden(name) : readPipedStdin();
  throw new FluxoError('BAD_USER_INPUT', 'say where the value comes from: --from-file <file> or --from-stdin');
}

/** Registers `fluxo secrets ...`. */
export function registerSecretsCommand(program: Command): void {
  const secrets = program.command('secrets').description("your tenant's secrets: stored encrypted on the server, handed only to your agents for the runs whose flows declare them");

  withApiOptions(
    secrets
      .command('set <name> [value]')
      .description('store or replace a secret (tenant-admin); the value comes from a file or standard input, never from the command line')
      .option('--from-file <file>', 'read the value from this file (one trailing line break is dropped)')
      .option('--from-stdin', 'read the value from standard input: piped, or typed without echo on a terminal (one trailing line break is dropped)'),
  ).action(async (name: string, extra: string | undefined, options: SetOptions) => {
    const value = await valueFor(name, options, extra);
    await withClient(options, async (client) => {
      const { setSecret } = await client.request<SetSecretMutation>(SET_SECRET, { input: { name, value } } satisfies SetSecretMutationVariables);
      if (options.json) return printJson(setSecret);
      process.stdout.write(`stored ${setSecret.name} (${formatInstant(setSecret.updatedAt)}, by ${setSecret.updatedBy})\n`);
    });
  });

  withApiOptions(secrets.command('list').description("the names of your tenant's secrets (never their values)")).action(async (options: ApiOptions) => {
    await withClient(options, async (client) => {
      const { secrets: found } = await client.request<SecretsQuery>(LIST_SECRETS, {});
      if (options.json) return printJson(found);
      printTable(
        ['NAME', 'UPDATED', 'UPDATED BY', 'CREATED'],
        found.map((s) => [s.name, formatInstant(s.updatedAt), s.updatedBy, formatInstant(s.createdAt)]),
        'no secrets stored (store one with `fluxo secrets set NAME --from-stdin`)',
      );
    });
  });

  withApiOptions(secrets.command('delete <name>').description('delete a secret (tenant-admin); exits 4 when there is none')).action(async (name: string, options: ApiOptions) => {
    await withClient(options, async (client) => {
      const { deleteSecret } = await client.request<DeleteSecretMutation>(DELETE_SECRET, { name } satisfies DeleteSecretMutationVariables);
      if (options.json) return printJson({ name, deleted: deleteSecret });
      if (!deleteSecret) throw new FluxoError('NOT_FOUND', `no secret ${name} in your tenant; nothing was deleted`);
      process.stdout.write(`deleted ${name}\n`);
    });
  });

  secrets
    .command('rekey')
    .description("after adding a key version to the server's secrets key file: re-encrypt every stored secret (all tenants) with the newest key, so older key lines can be removed. Runs against the database, like `fluxo server prune`")
    .option('--database <path-or-url>', 'a SQLite file, or postgres://... (env FLUXO_DATABASE_URL or FLUXO_DATABASE)', process.env.FLUXO_DATABASE_URL ?? process.env.FLUXO_DATABASE ?? 'fluxo-data/fluxo.db')
    .addOption(new Option('--keys-dir <dir>', 'keys directory holding secrets.key').env('FLUXO_KEYS_DIR').default(DEFAULT_KEYS_DIR))
    .option('--secrets-key-file <file>', 'the secrets key file (overrides --keys-dir; env FLUXO_SECRETS_KEY_FILE)', process.env.FLUXO_SECRETS_KEY_FILE)
    .action(async (options: { database: string; keysDir: string; secretsKeyFile?: string }) => {
      // Loaded here: `secrets set` and `list` should not pay for the database drivers.
      const { openStore } = await import('../../server/open-store.js');
      const found = await findSecretsKeyring({ file: options.secretsKeyFile, keysDir: options.keysDir });
      if (!found) throw new FluxoError('SECRETS_UNAVAILABLE', `no secrets key in ${options.keysDir}; pass --keys-dir or --secrets-key-file`);
      const store = openStore(options.database);
      try {
        await store.migrate();
        const resealed = await new TenantSecrets(store.secrets, new SecretCipher(found.keyring)).rekey();
        process.stdout.write(`re-encrypted ${resealed} ${resealed === 1 ? 'secret' : 'secrets'} with key version ${found.keyring.current}\n`);
      } finally {
        await store.close();
      }
    });
}
