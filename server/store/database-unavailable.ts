// When the database is unavailable rather than wrong: connection trouble, a restarting server, a
// busy SQLite file. Such errors become SERVICE_UNAVAILABLE (retry with backoff); all others stay errors.

/**
 * Why the database (PostgreSQL or SQLite) cannot be used right now, in words safe to show a client;
 * null for every other error. The one place that decides "retry later" (SERVICE_UNAVAILABLE) for
 * both dialects: PostgreSQL's store maps with it (postgres/database.ts), and the GraphQL layer
 * uses it for what reaches it unmapped (server/graphql/apollo.ts).
 */
export function unavailableReason(error: unknown): string | null {
  if (!(error instanceof Error)) return null;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    switch (code) {
      // better-sqlite3: another connection holds the write lock past busy_timeout.
      case 'SQLITE_BUSY':
      case 'SQLITE_BUSY_SNAPSHOT':
      case 'SQLITE_LOCKED':
        return 'the database is busy';
      case 'ECONNREFUSED':
        return 'connection refused';
      case 'ECONNRESET':
      case 'EPIPE':
        return 'connection reset';
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return 'host not found';
      case 'ETIMEDOUT':
      case 'EHOSTUNREACH':
      case 'ENETUNREACH':
        return 'host unreachable';
      case '57P01':
      case '57P02':
      case '57P03':
        return 'the database server is restarting or shutting down';
      case '53300':
        return 'too many connections';
      case '28000':
      case '28P01':
        return 'authentication failed';
      case '3D000':
        return 'the database does not exist';
      case '25006':
        return 'the database is read-only (a standby?)';
      default:
        if (code.startsWith('08')) return 'connection failure';
    }
  }
  const message = error.message;
  if (/SQLITE_BUSY|database is locked/.test(message)) return 'the database is busy';
  if (/timeout exceeded when trying to connect|connection timeout/i.test(message)) return 'timed out connecting';
  if (/Connection terminated|Client has encountered a connection error|not queryable|Client was closed/i.test(message)) return 'connection lost';
  return null;
}
