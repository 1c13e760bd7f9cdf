// `fluxo proxy start`: runs the auth proxy in front of the server until SIGTERM / SIGINT.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { DEFAULT_KEYS_DIR, keyPaths, loadIdentitySecret, loadPublicKeySet } from '../../common/keys.js';
import { createLogger } from '../../common/logger.js';
import { DEFAULT_AUDIENCE, DEFAULT_ISSUER } from '../../auth-proxy/claims.js';
import { DEFAULT_MAX_BODY_BYTES, startProxy } from '../../auth-proxy/proxy.js';

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
    .action(async (options: ProxyStartOptions) => {
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
      });
      logger.info({ url: running.url, upstream: options.upstream }, 'ready');

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
