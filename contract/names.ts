// The one naming rule set: project, flow, task and agent names, labels, secret names and the data
// library's dataset/table ids. The server (BAD_USER_INPUT), the agent's configuration, the CLI and
// the SDK's definition-time checks all ask these functions, so a name one accepts the others accept
// too. Each check returns the problem as text (or null) and leaves the error to its caller, because
// each entry point has its own error shape (FluxoError code, TypeError at definition time).
//
// Where the rules used to disagree, the wider one that the server could already have stored won:
// labels are 1-100 characters and may hold "/" (the agent accepted those; PostgreSQL stores labels
// as text[] and SQLite as TEXT, so nothing stored is cut), names start with a letter or digit (the
// server never accepted another first character, so no registered name is refused now).

/** Project, flow, task and agent names: letters, digits, `-`, `_`, `.`; 1-100, starting with a letter or digit. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

/** Labels (routing, never security): letters, digits, `-`, `_`, `.`, `:`, `/`; 1-100, starting with a letter or digit. */
export const LABEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,99}$/;

/** At most this many labels on a run, a flow version, an agent or a token. */
export const MAX_LABELS = 50;

/** Secret names are environment-variable names of the flow's process: upper-case letters, digits and `_`, starting with a letter; 1-100. */
export const SECRET_NAME_PATTERN = /^[A-Z][A-Z0-9_]{0,99}$/;

/** Dataset, table and column ids of the data library (BigQuery's and DuckDB's common ground). */
export const DATA_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** What a refused name is told (shared so every entry point says the same). */
export const NAME_RULE = '1-100 letters, digits, "-", "_" or ".", starting with a letter or digit';
/** What a refused label is told. */
export const LABEL_RULE = '1-100 letters, digits, "-", "_", ".", ":" or "/", starting with a letter or digit';
/** What a refused secret name is told. */
export const SECRET_NAME_RULE = '1-100 upper-case letters, digits or "_", starting with a letter (like DB_PASSWORD)';
/** What a refused dataset, table or column id is told. */
export const DATA_NAME_RULE = '1-128 letters, digits or "_", not starting with a digit';

const quoted = (value: unknown, max = 120): string => (typeof value === 'string' ? `"${value.slice(0, max)}"` : JSON.stringify(value) ?? String(value));

/**
 * Why `name` cannot be a project, flow, task or agent name, or null when it can.
 *
 * @example nameProblem('etl daily') // '"etl daily" must be 1-100 letters, digits, ...'
 */
export function nameProblem(name: unknown): string | null {
  return typeof name === 'string' && NAME_PATTERN.test(name) ? null : `${quoted(name)} must be ${NAME_RULE}`;
}

/**
 * Why `label` cannot be a label, or null when it can.
 *
 * @example labelProblem('gpu') // null
 */
export function labelProblem(label: unknown): string | null {
  return typeof label === 'string' && LABEL_PATTERN.test(label) ? null : `label ${quoted(label, 80)} must be ${LABEL_RULE}`;
}

/** Why a set of labels is refused (too many, or one bad label), or null. */
export function labelsProblem(labels: readonly unknown[]): string | null {
  if (labels.length > MAX_LABELS) return `at most ${MAX_LABELS} labels`;
  for (const label of labels) {
    const problem = labelProblem(label);
    if (problem) return problem;
  }
  return null;
}

/**
 * Why `name` cannot be a secret name, or null when it can. FLUXO_ names belong to the platform.
 *
 * @example secretNameProblem('db_password') // 'must be 1-100 upper-case letters, ...'
 */
export function secretNameProblem(name: string): string | null {
  if (!SECRET_NAME_PATTERN.test(name)) return `must be ${SECRET_NAME_RULE}`;
  if (name.startsWith('FLUXO_')) return 'is reserved: FLUXO_ names belong to the platform';
  return null;
}

/** Why `id` cannot be a dataset, table or column id, or null when it can. */
export function dataNameProblem(id: unknown): string | null {
  return typeof id === 'string' && DATA_NAME_PATTERN.test(id) ? null : `${quoted(id, 140)} must be ${DATA_NAME_RULE}`;
}
