// SQL as data: a tagged template that turns every interpolation into a numbered parameter, so a
// value is never spliced into SQL text. Fragments nest (`sql` inside `sql`), which keeps dynamic
// filters (listFlowRuns) as safe as fixed statements; `raw` is for trusted SQL text only.

/** A piece of SQL with its parameters; build it with {@link sql}, run it with an executor. */
export class Sql {
  /** Text around the parameters: always one more than `values`. */
  readonly strings: readonly string[];
  readonly values: readonly unknown[];
  /** The server-side prepared statement this runs as (see {@link prepared}); undefined: parsed and planned on every run. */
  readonly name: string | undefined;

  constructor(strings: readonly string[], values: readonly unknown[], name?: string) {
    this.strings = strings;
    this.values = values;
    this.name = name;
  }

  /** The text with `$1, $2, ...` placeholders and the values in order, as `pg` takes them (with the statement's name). */
  compile(): { name?: string; text: string; values: unknown[] } {
    let text = this.strings[0] ?? '';
    for (let i = 1; i < this.strings.length; i++) text += `$${i}${this.strings[i]}`;
    return { ...(this.name === undefined ? {} : { name: this.name }), text, values: [...this.values] };
  }
}

/** The text each prepared statement's name stands for, in this process. */
const preparedTexts = new Map<string, string>();

/**
 * Runs a statement whose text never changes as a named prepared statement: each connection parses
 * and plans it once, later runs send only the values. For the statements of every run's life
 * (create, claim, state writes and the lookups before them), where parsing and planning cost
 * about as much as running. Name the result's columns rather than `*` (rows.ts `columnsOf`): a
 * column another replica's migration adds must not change a prepared statement's result type,
 * which PostgreSQL refuses ("cached plan must not change result type").
 * Throws a TypeError at once when one name is given two texts (pg would refuse it per connection).
 *
 * @example db.row(prepared('get-flow-run', sql`SELECT ${columnsOf('flow_runs')} FROM flow_runs WHERE tenant = ${tenant} AND id = ${id}`))
 */
export function prepared(name: string, query: Sql): Sql {
  const text = query.strings.join('\u0000');
  const known = preparedTexts.get(name);
  if (known === undefined) preparedTexts.set(name, text);
  else if (known !== text) throw new TypeError(`prepared statement "${name}" was given a different text; each text needs its own name`);
  return new Sql(query.strings, query.values, name);
}

/**
 * Builds a statement; `${value}` becomes a parameter, `${otherSql}` is inlined with its parameters.
 *
 * @example sql`SELECT * FROM flow_runs WHERE tenant = ${tenant} AND id = ${id}`
 */
export function sql(template: TemplateStringsArray, ...values: unknown[]): Sql {
  const strings: string[] = [template[0] ?? ''];
  const params: unknown[] = [];
  values.forEach((value, i) => {
    const after = template[i + 1] ?? '';
    if (value instanceof Sql) {
      strings[strings.length - 1] += value.strings[0] ?? '';
      value.values.forEach((inner, j) => {
        params.push(inner);
        strings.push(value.strings[j + 1] ?? '');
      });
      strings[strings.length - 1] += after;
    } else {
      params.push(value);
      strings.push(after);
    }
  });
  return new Sql(strings, params);
}

/** Trusted SQL text (identifiers, constants such as {@link NOW_MS}); never user input. */
export function raw(text: string): Sql {
  return new Sql([text], []);
}

/** Joins fragments with a separator, e.g. the conditions of a WHERE clause. */
export function join(fragments: readonly Sql[], separator: string): Sql {
  if (fragments.length === 0) return raw('');
  const strings: string[] = [''];
  const values: unknown[] = [];
  fragments.forEach((fragment, i) => {
    if (i > 0) strings[strings.length - 1] += separator;
    strings[strings.length - 1] += fragment.strings[0] ?? '';
    fragment.values.forEach((value, j) => {
      values.push(value);
      strings.push(fragment.strings[j + 1] ?? '');
    });
  });
  return new Sql(strings, values);
}

/**
 * The database clock in epoch milliseconds, as SQL. `clock_timestamp()` rather than `now()`: the
 * time when the statement reads it, not when its transaction began, as SQLite's `unixepoch('subsec')`.
 * Leases, due times and transition times all come from here, never from a server's own clock.
 */
export const NOW_MS = raw(`floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint`);
