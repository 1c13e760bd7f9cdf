// Documented exit codes of the `fluxo` CLI (docs/cli.md). Scripts and CI switch on these.
import { isCredentialRefusal } from '../contract/credential-refusal.js';
import { FluxoError } from '../common/errors.js';
import { TransportError } from './graphql-client.js';

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
  /**
   * `fluxo agent start`: the agent's name is held by another token, at start (AGENT_NAME_TAKEN) or
   * later (a tenant-admin moved it: `fluxo agents move`). Restarting with the same token cannot help.
   */
  agentNameTaken: 7,
  /** `fluxo register`: at least one module or flow failed (the others were registered; the summary says which and why). */
  registrationFailed: 8,
  /** Anything unexpected. */
  internal: 70,
} as const;

/** Maps an error to the CLI exit code. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof TransportError) return EXIT.unreachable;
  if (!(error instanceof FluxoError)) return EXIT.internal;
  // The same list the agent stops on (contract/credential-refusal.ts); the switch covers the rest.
  if (isCredentialRefusal(error.code)) return EXIT.unauthorized;
  switch (error.code) {
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
    case 'AGENT_NAME_TAKEN':
      return EXIT.agentNameTaken;
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
