// Documented exit codes of the `fluxo` CLI (docs/cli.md). Scripts and CI switch on these.
import { FluxoError } from '../common/errors.js';
import { TransportError } from '../client/graphql-client.js';

export const EXIT = {
  /** Success (for `runs create --watch`: the run ended SUCCESS). */
  ok: 0,
  /** The watched run ended in a state other than SUCCESS. */
  runNotSuccessful: 1,
  /** Bad usage or bad input: unknown option, invalid parameters, unknown flow. */
  badInput: 2,
  /** The token was missing, invalid or expired, or the role may not do this. */
  unauthorized: 3,
  /** The object does not exist in the caller's tenant. */
  notFound: 4,
  /** The API could not be reached. */
  unreachable: 5,
  /** A conflict: illegal transition, stale version, idempotency conflict. */
  conflict: 6,
  /** Anything unexpected. */
  internal: 70,
} as const;

/** Maps an error to the CLI exit code. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof TransportError) return EXIT.unreachable;
  if (!(error instanceof FluxoError)) return EXIT.internal;
  switch (error.code) {
    case 'TOKEN_MISSING':
    case 'TOKEN_INVALID':
    case 'TOKEN_EXPIRED':
    case 'TOKEN_UNSIGNED':
    case 'TOKEN_ALGORITHM_NOT_ALLOWED':
    case 'TOKEN_TYPE_INVALID':
    case 'TOKEN_HEADER_FORBIDDEN':
    case 'TOKEN_CLAIM_MISSING':
    case 'TOKEN_ISSUER_MISMATCH':
    case 'TOKEN_AUDIENCE_MISMATCH':
    case 'TOKEN_NOT_YET_VALID':
    case 'TOKEN_KEY_UNKNOWN':
    case 'TOKEN_SIGNATURE_INVALID':
    case 'TOKEN_KIND_MISMATCH':
    case 'TOKEN_REVOKED':
    case 'IDENTITY_MISSING':
    case 'FORBIDDEN':
      return EXIT.unauthorized;
    case 'NOT_FOUND':
      return EXIT.notFound;
    case 'BAD_USER_INPUT':
    case 'INVALID_PARAMETERS':
    case 'PAYLOAD_TOO_LARGE':
    case 'GRAPHQL_PARSE_FAILED':
    case 'GRAPHQL_VALIDATION_FAILED':
    case 'QUERY_TOO_COMPLEX':
      return EXIT.badInput;
    case 'IDEMPOTENCY_CONFLICT':
    case 'ILLEGAL_TRANSITION':
    case 'VERSION_CONFLICT':
    case 'LEASE_LOST':
      return EXIT.conflict;
    case 'SERVICE_UNAVAILABLE':
    case 'IDENTITY_PROVIDER_UNAVAILABLE':
    case 'RATE_LIMITED':
    case 'SECRETS_UNAVAILABLE':
      return EXIT.unreachable;
    case 'INTERNAL_SERVER_ERROR':
      return EXIT.internal;
  }
}

/** Prints `error: [CODE] message` to stderr and exits with the mapped code. */
export function failWith(error: unknown): never {
  const code = error instanceof FluxoError ? `[${error.code}] ` : '';
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`error: ${code}${message}\n`);
  process.exit(exitCodeOf(error));
}
