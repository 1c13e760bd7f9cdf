// The one rule for secret names, shared by the server (registerFlow's `secrets`, setSecret) and the
// SDK's `flow({ secrets })`: a name one of them accepts, the others accept too. Names are
// environment-variable names of the flow's process; FLUXO_ ones belong to the platform. Kept free
// of imports: the SDK is bundled into every flow.

/** Upper-case letters, digits and `_`, starting with a letter; at most 100 characters. */
export const SECRET_NAME_PATTERN = /^[A-Z][A-Z0-9_]{0,99}$/;

/**
 * Why `name` cannot be a secret name, or null when it can.
 *
 * @example secretNameProblem('db_password') // 'must be 1-100 upper-case letters, ...'
 */
export function secretNameProblem(name: string): string | null {
  if (!SECRET_NAME_PATTERN.test(name)) return 'must be 1-100 upper-case letters, digits or "_", starting with a letter (like DB_PASSWORD)';
  if (name.startsWith('FLUXO_')) return 'is reserved: FLUXO_ names belong to the platform';
  return null;
}
