// What a fluxo bearer token says, and the checks both sides apply to it: `createToken` refuses to
// mint a token the proxy would refuse, and the proxy refuses anything `createToken` could not mint.
import { isRole, roles, type Role } from '../common/identity.js';

/** `iss` of fluxo tokens. @default 'fluxo' */
export const DEFAULT_ISSUER = 'fluxo';
/** `aud` of fluxo tokens. @default 'fluxo-api' */
export const DEFAULT_AUDIENCE = 'fluxo-api';
/** Signature algorithms the proxy accepts. Never `none`, never a symmetric (HS*) algorithm. */
export const ALLOWED_ALGORITHMS = ['EdDSA', 'ES256', 'RS256'] as const;

/** A tenant name: lower-case letters, digits and `-`, starting with a letter or digit, at most 63 characters. */
export const TENANT_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** A label: what `fluxo register --labels` and agents accept. */
export const LABEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,62}$/;
/** Longest subject accepted. */
export const MAX_SUBJECT_LENGTH = 256;

/** The fluxo-specific claims of a bearer token (besides iss, aud, sub, iat, exp, jti). */
export interface FluxoClaims {
  tenant: string;
  role: Role;
  /** Informational labels (e.g. what an agent token is meant for); routing never trusts them. */
  labels?: string[];
}

/** Why a claim value is unacceptable, or undefined when it is fine. */
export function tenantProblem(tenant: unknown): string | undefined {
  if (tenant === undefined || tenant === null || tenant === '') return 'tenant is missing';
  if (typeof tenant !== 'string' || !TENANT_PATTERN.test(tenant)) {
    return `tenant ${JSON.stringify(tenant)} is not valid (lower-case letters, digits and "-", at most 63 characters, e.g. "rj-smtr")`;
  }
  return undefined;
}

/** Why a role value is unacceptable, or undefined when it is one of the roles. */
export function roleProblem(role: unknown): string | undefined {
  if (role === undefined || role === null || role === '') return `role is missing (one of ${roles.join(', ')})`;
  if (!isRole(role)) return `role ${JSON.stringify(role)} is not one of ${roles.join(', ')}`;
  return undefined;
}

/** Why a subject is unacceptable, or undefined. */
export function subjectProblem(subject: unknown): string | undefined {
  if (typeof subject !== 'string' || subject.trim() === '') return 'subject (sub) is missing';
  if (subject.length > MAX_SUBJECT_LENGTH) return `subject is longer than ${MAX_SUBJECT_LENGTH} characters`;
  return undefined;
}

/** Why a label list is unacceptable, or undefined. */
export function labelsProblem(labels: unknown): string | undefined {
  if (labels === undefined) return undefined;
  if (!Array.isArray(labels)) return 'labels must be a list of strings';
  const bad = labels.find((label) => typeof label !== 'string' || !LABEL_PATTERN.test(label));
  if (bad !== undefined) return `label ${JSON.stringify(bad)} is not valid (letters, digits, "_", ".", ":", "/", "-"; at most 63 characters)`;
  return undefined;
}
