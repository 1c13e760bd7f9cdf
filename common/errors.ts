// One error type for every part of fluxo. Codes are the `ErrorCode` enum of schema/fluxo.graphql
// (plus agent-side reasons), so a client can `switch (err.code)`; messages are for people.
import type { ErrorCode } from '../schema/generated/graphql.js';

export type { ErrorCode };

/** HTTP status each code maps to when it ends a whole request (proxy answers, server refusals). */
export const httpStatusOf: Record<ErrorCode, number> = {
  TOKEN_MISSING: 401,
  TOKEN_INVALID: 401,
  TOKEN_EXPIRED: 401,
  TOKEN_UNSIGNED: 401,
  TOKEN_ALGORITHM_NOT_ALLOWED: 401,
  TOKEN_TYPE_INVALID: 401,
  TOKEN_HEADER_FORBIDDEN: 401,
  TOKEN_CLAIM_MISSING: 401,
  TOKEN_ISSUER_MISMATCH: 401,
  TOKEN_AUDIENCE_MISMATCH: 401,
  TOKEN_NOT_YET_VALID: 401,
  TOKEN_KEY_UNKNOWN: 401,
  TOKEN_SIGNATURE_INVALID: 401,
  TOKEN_KIND_MISMATCH: 403,
  TOKEN_REVOKED: 401,
  IDENTITY_PROVIDER_UNAVAILABLE: 503,
  IDENTITY_MISSING: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  BAD_USER_INPUT: 400,
  INVALID_PARAMETERS: 400,
  IDEMPOTENCY_CONFLICT: 409,
  ILLEGAL_TRANSITION: 409,
  VERSION_CONFLICT: 409,
  LEASE_LOST: 409,
  AGENT_NAME_TAKEN: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  QUERY_TOO_COMPLEX: 400,
  SECRETS_UNAVAILABLE: 503,
  GRAPHQL_PARSE_FAILED: 400,
  GRAPHQL_VALIDATION_FAILED: 400,
  SERVICE_UNAVAILABLE: 503,
  INTERNAL_SERVER_ERROR: 500,
};

/**
 * An error with a stable code. Throw it (or a subclass) from any layer; the GraphQL adapter puts
 * `code` in `extensions.code` and `details` in `extensions.details`.
 *
 * @example throw new FluxoError('NOT_FOUND', `flow "${name}" not found in project "${project}"`)
 */
export class FluxoError extends Error {
  override name = 'FluxoError';
  readonly code: ErrorCode;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
  }
}

/** Normalises anything thrown into an Error, keeping FluxoErrors as they are. */
export function coerceError(value: unknown): Error {
  if (value instanceof Error) return value;
  if (typeof value === 'string') return new Error(value);
  try {
    return new Error(JSON.stringify(value));
  } catch {
    return new Error(String(value));
  }
}

/** The body fluxo answers with when it refuses a whole HTTP request (GraphQL-shaped, so clients parse one format). */
export function errorBody(code: ErrorCode, message: string): string {
  return JSON.stringify({ errors: [{ message, extensions: { code } }] });
}
