// Opaque keyset cursors: base64url of the last row's sort key and id.
import { FluxoError } from '../../common/errors.js';
import type { Page } from './store.js';

export type CursorKey = [number | string, string];

export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** Decodes a cursor; a malformed one is BAD_USER_INPUT. */
export function decodeCursor(cursor: string | null | undefined): CursorKey | null {
  if (!cursor) return null;
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && value.length === 2 && (typeof value[0] === 'number' || typeof value[0] === 'string') && typeof value[1] === 'string') {
      return value as CursorKey;
    }
  } catch {
    // fall through
  }
  throw new FluxoError('BAD_USER_INPUT', `"after" is not a cursor this API returned: ${cursor.slice(0, 40)}`);
}

/** The largest page of a run's task runs (`FlowRun.taskRuns(first:)`): a mapped run holds tens of thousands. */
export const MAX_TASK_RUN_PAGE = 5000;

/** Page size bounds shared by every list. */
export function pageSize(first: number, max = 500): number {
  if (!Number.isInteger(first) || first < 1 || first > max) {
    throw new FluxoError('BAD_USER_INPUT', `"first" must be an integer from 1 to ${max}, got ${first}`);
  }
  return first;
}

/** A page from `first + 1` fetched rows: the extra row only says whether another page follows. */
export function pageOf<T>(rows: T[], first: number, keyOf: (row: T) => CursorKey): Page<T> {
  const hasNextPage = rows.length > first;
  const nodes = hasNextPage ? rows.slice(0, first) : rows;
  const last = nodes.at(-1);
  return { nodes, hasNextPage, endCursor: last ? encodeCursor(keyOf(last)) : null };
}

/** Refuses to run against a database migrated by a newer fluxo (both stores' migrate()). */
export function assertSchemaKnown(current: number, known: number): void {
  if (current > known) {
    throw new FluxoError(
      'SERVICE_UNAVAILABLE',
      `the database schema is at version ${current}, newer than this fluxo knows (${known}); upgrade fluxo before starting it against this database`,
    );
  }
}
