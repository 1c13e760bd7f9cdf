// "The caller's credentials are refused": one definition for the agent (which stops, since no retry
// can cure it), its relay and heartbeat, and the CLI (exit code 3). A closed list of ErrorCode
// values; the compile-time check below and test/contract/credential-refusal.test.ts (table-driven
// over the schema's enum) fail when a TOKEN_* or IDENTITY_* code is added without being classified.
import type { ErrorCode } from '../schema/generated/graphql.js';

/**
 * Codes that say the token is missing, invalid, expired, revoked, of the wrong kind, or that its
 * role may not do this. Retrying with the same token gets the same answer.
 */
export const credentialRefusalCodes = [
  'TOKEN_MISSING',
  'TOKEN_INVALID',
  'TOKEN_EXPIRED',
  'TOKEN_UNSIGNED',
  'TOKEN_ALGORITHM_NOT_ALLOWED',
  'TOKEN_TYPE_INVALID',
  'TOKEN_HEADER_FORBIDDEN',
  'TOKEN_CLAIM_MISSING',
  'TOKEN_ISSUER_MISMATCH',
  'TOKEN_AUDIENCE_MISMATCH',
  'TOKEN_NOT_YET_VALID',
  'TOKEN_KEY_UNKNOWN',
  'TOKEN_SIGNATURE_INVALID',
  'TOKEN_KIND_MISMATCH',
  'TOKEN_REVOKED',
  'IDENTITY_MISSING',
  'FORBIDDEN',
] as const satisfies readonly ErrorCode[];

export type CredentialRefusalCode = (typeof credentialRefusalCodes)[number];

/**
 * Token and identity codes that are not refusals of the credential: the identity provider being
 * unreachable is transient (the proxy fails closed; retry later).
 */
export const transientIdentityCodes = ['IDENTITY_PROVIDER_UNAVAILABLE'] as const satisfies readonly ErrorCode[];

// Every TOKEN_* / IDENTITY_* code of the schema is in one of the two lists, or this fails to compile.
type Unclassified = Exclude<Extract<ErrorCode, `TOKEN_${string}` | `IDENTITY_${string}`>, CredentialRefusalCode | (typeof transientIdentityCodes)[number]>;
const everyTokenCodeClassified: [Unclassified] extends [never] ? true : Unclassified = true;
void everyTokenCodeClassified;

const refusals: ReadonlySet<string> = new Set(credentialRefusalCodes);

/**
 * Whether `code` says the caller's credentials are refused.
 *
 * @example if (error instanceof FluxoError && isCredentialRefusal(error.code)) stopForGood(error);
 */
export function isCredentialRefusal(code: string): code is CredentialRefusalCode {
  return refusals.has(code);
}
