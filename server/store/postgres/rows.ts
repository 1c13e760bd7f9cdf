// Row shapes of the PostgreSQL tables: `pg` already parses json columns and text[] arrays, and this
// store's pool parses bigint as a number (database.ts), so rows are the shared decoded shapes.
export * from '../rows.js';

/**
 * PostgreSQL text cannot hold U+0000 (SQLite can). A NUL in a message a child printed or an agent
 * reported becomes U+FFFD rather than failing the whole write.
 */
export function pgText<T extends string | null>(value: T): T {
  return (value === null || !value.includes('\u0000') ? value : value.replaceAll('\u0000', '\uFFFD')) as T;
}
