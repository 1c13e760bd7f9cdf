// Input checks shared by the operations: every refusal is BAD_USER_INPUT naming the argument.
import { FluxoError } from '../../common/errors.js';
import { labelProblem, MAX_LABELS, nameProblem, secretNameProblem } from '../../contract/names.js';
import { filePlaceAllowed, parseStorageLocation, type StorageRoots } from '../../storage/storage-location.js';

function bad(message: string): never {
  throw new FluxoError('BAD_USER_INPUT', message);
}

/** A project, flow or agent name (contract/names.ts, the rule every part shares), or BAD_USER_INPUT. */
export function checkName(what: string, value: string): string {
  const problem = nameProblem(value);
  if (problem) bad(`${what} ${problem}`);
  return value;
}

/** Validates (contract/names.ts), dedupes and sorts labels (sorted so equal label sets compare equal). */
export function checkLabels(what: string, labels: readonly string[]): string[] {
  if (labels.length > MAX_LABELS) bad(`${what}: at most ${MAX_LABELS} labels`);
  for (const label of labels) {
    const problem = labelProblem(label);
    if (problem) bad(`${what}: ${problem}`);
  }
  return [...new Set(labels)].sort();
}

/** Secret names follow setSecret's rule (contract/names.ts); deduped and sorted like labels. */
export function checkSecretNames(names: readonly string[]): string[] {
  if (names.length > 100) bad('secrets: at most 100 names');
  for (const name of names) {
    const problem = secretNameProblem(name);
    if (problem) bad(`secrets: "${name.slice(0, 120)}" ${problem}`);
  }
  return [...new Set(names)].sort();
}

export function checkInt(what: string, value: number | null | undefined, min: number, max: number, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min || v > max) bad(`${what} must be an integer from ${min} to ${max}, got ${v}`);
  return v;
}

export function checkOptionalInt(what: string, value: number | null | undefined, min: number, max: number): number | null {
  return value == null ? null : checkInt(what, value, min, max, 0);
}

// RFC 3339 (the ISO-8601 profile every client sends): a date, a time, and a zone, always. Date.parse
// alone rolls "2027-02-30" over to March 2 and reads a time without a zone as the server's local time.
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;

/** What a refused DateTime is told. */
export const DATE_TIME_EXPECTED = 'an ISO-8601 date-time with a time zone, like 2026-11-26T09:00:00Z or 2026-11-26T06:00:00-03:00';

/**
 * Epoch ms of an RFC 3339 date-time, or null when `value` is not one: no zone, a day the month
 * does not have, an hour past 23, a leap second.
 *
 * @example parseIsoDateTime('2028-02-29T09:00:00-03:00') // 1835438400000
 */
export function parseIsoDateTime(value: string): number | null {
  const m = DATE_TIME.exec(value);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const daysInMonth = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) return null;
  const offsetMinutes = m[8] ? 0 : (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11]));
  if (!m[8] && (Number(m[10]) > 23 || Number(m[11]) > 59)) return null;
  const utc = new Date(0);
  utc.setUTCFullYear(year, month - 1, day); // years 0-99 too, which Date.UTC would move to 19xx
  utc.setUTCHours(hour, minute, second, Math.trunc(Number(m[7] ?? 0) * 1000));
  return utc.getTime() - offsetMinutes * 60_000;
}

/** Parses an ISO-8601 DateTime argument to epoch ms (see {@link parseIsoDateTime}). */
export function parseDateTime(what: string, value: string | null | undefined): number | null {
  if (value == null) return null;
  const ms = parseIsoDateTime(value);
  if (ms === null) bad(`${what} must be ${DATE_TIME_EXPECTED}, got "${value.slice(0, 60)}"`);
  return ms;
}

/**
 * The one answer to every refused storageUri (issue 9, finding 7). Fixed on purpose: it must not
 * say whether the place exists, what it is, or which rule refused it.
 */
export const STORAGE_URI_REFUSED =
  "storageUri is refused: a bundle must live at a canonical file:/// or gs:// URI inside this tenant's code storage root (see docs/code-storage.md#storage-roots)";

/** Refuses, with {@link STORAGE_URI_REFUSED}, a storageUri the tenant may not register. */
export function checkStorageUri(roots: StorageRoots, tenant: string, uri: string): string {
  if (uri.length > 2_000 || !roots.allows(tenant, uri)) bad(STORAGE_URI_REFUSED);
  return uri;
}

/**
 * Where the server sees a file:// root (one machine, `fluxo dev`), a link out of the tenant's root
 * or a non-regular file there is refused too, with the same answer. Only with roots: the server
 * never probes its file system for a place outside every root (that would answer questions about
 * the host).
 */
export async function checkStoragePlace(roots: StorageRoots, tenant: string, uri: string): Promise<void> {
  const location = parseStorageLocation(uri);
  if (!roots.configured || location?.scheme !== 'file') return;
  if (!(await filePlaceAllowed(location.path, roots.rootsOf(tenant)))) bad(STORAGE_URI_REFUSED);
}

export function checkString(what: string, value: string, max: number): string {
  if (value.length === 0 || value.length > max) bad(`${what} must be 1 to ${max} characters`);
  return value;
}
