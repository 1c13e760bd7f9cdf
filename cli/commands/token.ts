// `fluxo token create`: mints a bearer token the auth proxy accepts, signed with the private key
// of the keys directory (or a given private JWK file).
import { Option, type Command } from 'commander';
import { DEFAULT_KEYS_DIR, keyPaths, loadPrivateSigningKey } from '../../common/keys.js';
import { roles } from '../../common/identity.js';
import { DEFAULT_AUDIENCE, DEFAULT_ISSUER } from '../../auth-proxy/claims.js';
import { createToken, parseTtl, validateTokenRequest } from '../../auth-proxy/tokens.js';
import { parseLabels } from '../api-options.js';
import { printJson } from '../format.js';

interface TokenCreateOptions {
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

/** Registers `fluxo token ...`. */
export function registerTokenCommand(program: Command): void {
  const token = program.command('token').description('mint bearer tokens for the auth proxy');
  token
    .command('create')
    .description('print a signed token (JWT) for a tenant and role')
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
    .action(async (options: TokenCreateOptions) => {
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
