// What every way of authenticating (fluxo-signed JWTs, OIDC access tokens, fluxo service tokens)
// hands to the rest of the proxy: who the caller is, what kind of token it used, and until when.
import type { Identity, TokenKind } from '../common/identity.js';

/** Where a verified token came from. */
export type TokenSource = 'fluxo' | 'oidc' | 'service';

/** A verified caller and when its token stops being valid. */
export interface VerifiedToken {
  identity: Identity;
  /** Agent tokens may call only `@agentOperation` fields; user tokens only the others. */
  kind: TokenKind;
  /** `exp` in milliseconds since the epoch (plus the clock tolerance): long connections end then. Infinity for a service token without expiry. */
  expiresAtMs: number;
  /** The token's `jti` or service-token id, when present, for audit logs and rate limits. */
  tokenId?: string;
  source: TokenSource;
}
