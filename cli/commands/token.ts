// `fluxo token create | list | revoke`: revocable service tokens the server issues, through the
// API (FLUXO_API / FLUXO_TOKEN, a tenant-admin or admin). `fluxo token sign`: mints a JWT offline
// with the private key of the keys directory (bootstrap, tests, break-glass access).
import { Option, type Command } from 'commander';
import { FluxoError } from '../../common/errors.js';
import { DEFAULT_KEYS_DIR, keyPaths, loadPrivateSigningKey } from '../../common/keys.js';
import { isRole, roles, roleToGraphQL } from '../../common/identity.js';
import { DEFAULT_AUDIENCE, DEFAULT_ISSUER } from '../../auth-proxy/claims.js';
import { createToken, parseTtl, validateTokenRequest } from '../../auth-proxy/tokens.js';
import { parseLabels, withApiOptions, withClient, type ApiOptions } from '../api-options.js';
import type {
  CreateServiceTokenMutation,
  CreateServiceTokenMutationVariables,
  RevokeServiceTokenMutation,
  RevokeServiceTokenMutationVariables,
  ServiceTokenFieldsFragment,
  ServiceTokensQuery,
  ServiceTokensQueryVariables,
} from '../../schema/generated/operations.js';
import { formatInstant, printJson, printTable } from '../format.js';

interface TokenSignOptions {
  tenant: string;
  role: string;
  subject?: string;
  labels?: string;
  ttl: string;
  keysDir: string;
  privateKeyFile?: string;
  issuer: string;
  audience: string;
  json: boolean;
}

interface TokenCreateOptions extends ApiOptions {
  name: string;
  role: string;
  labels?: string;
  ttl: string;
}

type ServiceToken = ServiceTokenFieldsFragment;

const TOKEN_FIELDS = /* GraphQL */ `
  fragment ServiceTokenFields on ServiceToken { id name role kind subject labels createdAt createdBy expiresAt revokedAt revokedBy }
`;

const CREATE_SERVICE_TOKEN = /* GraphQL */ `
  mutation CreateServiceToken($input: CreateServiceTokenInput!) {
    createServiceToken(input: $input) { token serviceToken { ...ServiceTokenFields } }
  }
  ${TOKEN_FIELDS}
`;

const SERVICE_TOKENS = /* GraphQL */ `
  query ServiceTokens($includeRevoked: Boolean, $first: Int, $after: String) {
    serviceTokens(includeRevoked: $includeRevoked, first: $first, after: $after) {
      nodes { ...ServiceTokenFields }
      pageInfo { endCursor hasNextPage }
    }
  }
  ${TOKEN_FIELDS}
`;

const REVOKE_SERVICE_TOKEN = /* GraphQL */ `
  mutation RevokeServiceToken($id: ID!) {
    revokeServiceToken(id: $id) { ...ServiceTokenFields }
  }
  ${TOKEN_FIELDS}
`;

/** Roles a service token may grant, as `--role` takes them. */
const SERVICE_ROLES = roles.filter((role) => role !== 'admin');

/** `--ttl 90d` in seconds, or null for `never`. */
function parseServiceTokenTtl(text: string): number | null {
  return text.trim() === 'never' ? null : parseTtl(text);
}

/** Registers `fluxo token ...`. */
export function registerTokenCommand(program: Command): void {
  const token = program.command('token').description('issue, list and revoke service tokens; sign JWTs offline');

  withApiOptions(
    token
      .command('create')
      .description('issue a revocable service token in your tenant (tenant-admin or admin); the secret is printed once')
      .requiredOption('--name <name>', 'a name unique in the tenant, e.g. github-ci or agent-rj-smtr-01')
      .requiredOption('--role <role>', `one of ${SERVICE_ROLES.join(', ')}`)
      .option('--labels <labels>', 'comma-separated informational labels (what an agent token is for)')
      .option('--ttl <duration>', 'lifetime: 30m, 12h, 90d (60s to 365d), or never', 'never'),
  ).action(async (options: TokenCreateOptions) => {
    const role = options.role.trim().toLowerCase();
    if (!isRole(role) || role === 'admin') throw new FluxoError('BAD_USER_INPUT', `--role must be one of ${SERVICE_ROLES.join(', ')}, got "${options.role}"`);
    const ttlSeconds = parseServiceTokenTtl(options.ttl);
    const input = { name: options.name, role: roleToGraphQL(role), ttlSeconds, ...(options.labels === undefined ? {} : { labels: parseLabels(options.labels) }) };
    await withClient(options, async (client) => {
      const { createServiceToken: created } = await client.request<CreateServiceTokenMutation>(CREATE_SERVICE_TOKEN, { input } satisfies CreateServiceTokenMutationVariables);
      if (options.json) return printJson(created);
      const record = created.serviceToken;
      process.stdout.write(`${created.token}\n`);
      process.stderr.write(
        `created service token "${record.name}" (${record.id}), role ${record.role}, ${record.expiresAt ? `expires ${formatInstant(record.expiresAt)}` : 'no expiry'}.\n` +
          'Store the token above now (e.g. in your CI secrets): it is shown only this once. Revoke it with `fluxo token revoke <id>`.\n',
      );
    });
  });

  withApiOptions(
    token
      .command('list')
      .description('list the service tokens of your tenant, newest first')
      .option('--include-revoked', 'also list revoked tokens', false),
  ).action(async (options: ApiOptions & { includeRevoked: boolean }) =>
    withClient(options, async (client) => {
      const found: ServiceToken[] = [];
      let after: string | null = null;
      for (;;) {
        const { serviceTokens: page }: ServiceTokensQuery = await client.request(SERVICE_TOKENS, {
          includeRevoked: options.includeRevoked,
          first: 500,
          after,
        } satisfies ServiceTokensQueryVariables);
        found.push(...page.nodes);
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
      if (options.json) return printJson(found);
      printTable(
        ['ID', 'NAME', 'ROLE', 'LABELS', 'CREATED', 'BY', 'EXPIRES', 'REVOKED'],
        found.map((t) => [t.id, t.name, t.role, t.labels.join(','), formatInstant(t.createdAt), t.createdBy, t.expiresAt ? formatInstant(t.expiresAt) : 'never', t.revokedAt ? `${formatInstant(t.revokedAt)} by ${t.revokedBy}` : '']),
        'no service tokens',
      );
    }),
  );

  withApiOptions(token.command('revoke').description('revoke a service token; the proxy refuses it within its cache lifetime (30 s by default)').argument('<id>', 'the token id (`fluxo token list`)')).action(
    async (id: string, options: ApiOptions) =>
      withClient(options, async (client) => {
        const { revokeServiceToken: record } = await client.request<RevokeServiceTokenMutation>(REVOKE_SERVICE_TOKEN, { id } satisfies RevokeServiceTokenMutationVariables);
        if (options.json) return printJson(record);
        process.stdout.write(`revoked service token "${record.name}" (${record.id}) at ${formatInstant(record.revokedAt)} by ${record.revokedBy}\n`);
      }),
  );

  token
    .command('sign')
    .description('sign a JWT offline for a tenant and role with the keys directory\'s private key (not revocable: keep ttl short)')
    .requiredOption('--tenant <tenant>', 'tenant (agency) the token is confined to, e.g. rj-smtr')
    .requiredOption('--role <role>', `one of ${roles.join(', ')}`)
    .option('--subject <subject>', 'who holds the token (default <role>@<tenant>)')
    .option('--labels <labels>', 'comma-separated labels recorded in the token (informational, e.g. an agent\'s labels)')
    .option('--ttl <duration>', 'lifetime: 90s, 30m, 1h, 7d (at most 365d)', '1h')
    .addOption(new Option('--keys-dir <dir>', 'keys directory holding token-signing.private.jwk.json').env('FLUXO_KEYS_DIR').default(DEFAULT_KEYS_DIR))
    .option('--private-key-file <file>', 'private JWK file (overrides --keys-dir)')
    .option('--issuer <iss>', 'iss claim (must match the proxy)', DEFAULT_ISSUER)
    .option('--audience <aud>', 'aud claim (must match the proxy)', DEFAULT_AUDIENCE)
    .option('--json', 'print {"token", "expiresAt"} as JSON', false)
    .action(async (options: TokenSignOptions) => {
      // Validate the cheap things before touching the key file, so a typo gets the precise message.
      const ttlSeconds = parseTtl(options.ttl);
      const labels = options.labels === undefined ? undefined : parseLabels(options.labels);
      const keyFile = options.privateKeyFile ?? keyPaths(options.keysDir).privateSigningKey;
      const request = {
        tenant: options.tenant,
        role: options.role,
        ttlSeconds,
        issuer: options.issuer,
        audience: options.audience,
        ...(options.subject === undefined ? {} : { subject: options.subject }),
        ...(labels === undefined ? {} : { labels }),
      };
      validateTokenRequest(request);
      const created = await createToken(request, await loadPrivateSigningKey(keyFile));
      if (options.json) printJson(created);
      else process.stdout.write(`${created.token}\n`);
    });
}
