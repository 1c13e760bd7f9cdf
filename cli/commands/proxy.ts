// `fluxo proxy start`: runs the auth proxy in front of the server until SIGTERM / SIGINT.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { FluxoError } from '../../common/errors.js';
import { DEFAULT_KEYS_DIR, keyPaths, loadIdentitySecret, loadPublicKeySet } from '../../common/keys.js';
import { createLogger } from '../../common/logger.js';
import { DEFAULT_AUDIENCE, DEFAULT_ISSUER } from '../../auth-proxy/claims.js';
import { loadAuthConfig } from '../../auth-proxy/auth-config.js';
import { DEFAULT_MAX_QUERY_TOKENS } from '../../auth-proxy/operation-kinds.js';
import { DEFAULT_MAX_BODY_BYTES, startProxy } from '../../auth-proxy/proxy.js';
import { DEFAULT_TENANT_RATE_LIMIT, DEFAULT_TOKEN_RATE_LIMIT, parseRateLimit, type RateLimit } from '../../auth-proxy/rate-limit.js';
import { loadTlsCredentials } from '../../auth-proxy/tls.js';

interface ProxyStartOptions {
  host: string;
  port: number;
  upstream: string;
  keysDir: string;
  identitySecretFile?: string;
  publicKeysFile?: string;
  issuer: string;
  audience: string;
  maxBodyBytes: number;
  clockTolerance: number;
  authConfig?: string;
  rateLimitToken: RateLimit | null;
  rateLimitTenant: RateLimit | null;
  tlsCert?: string;
  tlsKey?: string;
  serviceTokenCacheSeconds: number;
  maxQueryTokens: number;
}

/** Registers `fluxo proxy ...`. */
export function registerProxyCommand(program: Command): void {
  const proxy = program.command('proxy').description('the auth proxy: verifies bearer tokens and forwards to the server with a signed identity');
  proxy
    .command('start')
    .description('start the auth proxy; logs {"msg":"ready","url":...} once it listens')
    .addOption(new Option('--host <host>', 'interface to listen on').env('FLUXO_PROXY_HOST').default('127.0.0.1'))
    .addOption(new Option('--port <port>', 'port to listen on (0 picks a free one)').env('FLUXO_PROXY_PORT').default(4000).argParser(integerIn(0, 65_535, 'port')))
    .addOption(new Option('--upstream <url>', 'the fluxo server\'s base URL').env('FLUXO_UPSTREAM').default('http://127.0.0.1:4200'))
    .addOption(new Option('--keys-dir <dir>', 'keys directory (identity.secret, token-signing.public.jwks.json)').env('FLUXO_KEYS_DIR').default(DEFAULT_KEYS_DIR))
    .option('--identity-secret-file <file>', 'identity secret shared with the server (overrides --keys-dir)')
    .option('--public-keys-file <file>', 'JWKS of trusted token-signing keys (overrides --keys-dir)')
    .option('--issuer <iss>', 'required iss claim', DEFAULT_ISSUER)
    .option('--audience <aud>', 'required aud claim', DEFAULT_AUDIENCE)
    .addOption(new Option('--max-body-bytes <n>', 'largest request body').default(DEFAULT_MAX_BODY_BYTES).argParser(integerIn(1, 2 ** 31 - 1, 'max-body-bytes')))
    .addOption(new Option('--clock-tolerance <seconds>', 'accepted clock skew for token times').default(30).argParser(integerIn(0, 600, 'clock-tolerance')))
    .addOption(new Option('--auth-config <file>', 'JSON file of trusted OpenID providers and their claim mappings').env('FLUXO_AUTH_CONFIG'))
    .addOption(
      new Option('--rate-limit-token <rps:burst>', 'requests per second and burst allowed per token, 0 to disable').env('FLUXO_RATE_LIMIT_TOKEN').default(DEFAULT_TOKEN_RATE_LIMIT, rateLimitText(DEFAULT_TOKEN_RATE_LIMIT)).argParser(rateLimitArgument('rate-limit-token')),
    )
    .addOption(
      new Option('--rate-limit-tenant <rps:burst>', 'requests per second and burst allowed per tenant, 0 to disable').env('FLUXO_RATE_LIMIT_TENANT').default(DEFAULT_TENANT_RATE_LIMIT, rateLimitText(DEFAULT_TENANT_RATE_LIMIT)).argParser(rateLimitArgument('rate-limit-tenant')),
    )
    .addOption(new Option('--tls-cert <file>', 'PEM certificate (chain): serve HTTPS and WSS (with --tls-key)').env('FLUXO_TLS_CERT'))
    .addOption(new Option('--tls-key <file>', 'PEM private key of --tls-cert').env('FLUXO_TLS_KEY'))
    .addOption(
      new Option('--service-token-cache-seconds <n>', 'how long a verified service token is trusted before asking the server again (a revocation takes at most this long)')
        .default(30)
        .argParser(integerIn(0, 3600, 'service-token-cache-seconds')),
    )
    .addOption(new Option('--max-query-tokens <n>', 'most lexical tokens in a GraphQL document').default(DEFAULT_MAX_QUERY_TOKENS).argParser(integerIn(1, 1_000_000, 'max-query-tokens')))
    .action(async (options: ProxyStartOptions) => {
      if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) {
        throw new FluxoError('BAD_USER_INPUT', `--tls-cert and --tls-key go together: give both to serve HTTPS, or neither for plain HTTP (got only ${options.tlsCert ? '--tls-cert' : '--tls-key'})`);
      }
      const paths = keyPaths(options.keysDir);
      const logger = createLogger('proxy');
      const running = await startProxy({
        host: options.host,
        port: options.port,
        upstreamUrl: options.upstream,
        publicKeys: await loadPublicKeySet(options.publicKeysFile ?? paths.publicKeySet),
        identitySecret: await loadIdentitySecret(options.identitySecretFile ?? paths.identitySecret),
        issuer: options.issuer,
        audience: options.audience,
        maxBodyBytes: options.maxBodyBytes,
        clockToleranceSeconds: options.clockTolerance,
        logger,
        oidcIssuers: options.authConfig ? (await loadAuthConfig(options.authConfig)).oidcIssuers : [],
        serviceTokenCacheSeconds: options.serviceTokenCacheSeconds,
        rateLimits: { perToken: options.rateLimitToken, perTenant: options.rateLimitTenant },
        maxQueryTokens: options.maxQueryTokens,
        ...(options.tlsCert && options.tlsKey ? { tls: await loadTlsCredentials(options.tlsCert, options.tlsKey) } : {}),
      });
      logger.info({ url: running.url, upstream: options.upstream, rateLimits: { token: options.rateLimitToken, tenant: options.rateLimitTenant } }, 'ready');

      const shutdown = (signal: NodeJS.Signals): void => {
        logger.info({ signal }, 'shutting down');
        // A second signal means "now".
        process.once(signal, () => process.exit(1));
        running.close().then(
          () => process.exit(0),
          (error: unknown) => {
            logger.error({ err: error }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', shutdown);
      process.once('SIGINT', shutdown);
    });
}

/** A commander parser for an integer within [min, max]; bad values exit 2 with a message. */
function integerIn(min: number, max: number, name: string): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      throw new InvalidArgumentError(`${name} must be a whole number between ${min} and ${max}`);
    }
    return parsed;
  };
}

/** A limit as `--rate-limit-*` takes it (`50:100`), for the help's default. */
function rateLimitText(limit: RateLimit): string {
  return `${limit.ratePerSecond}:${limit.burst}`;
}

/** A commander parser for `<rps>:<burst>` or `0`; bad values exit 2 with a message. */
function rateLimitArgument(name: string): (value: string) => RateLimit | null {
  return (value) => {
    try {
      return parseRateLimit(value, name);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  };
}
