// BigQuery spells a named query parameter `@name`, DuckDB `$name`. So that one SQL text with
// parameters runs on both warehouses, the DuckDB warehouse rewrites `@name` to `$name` for the
// parameters the call gives, outside string literals, quoted identifiers and comments. Only given
// names are rewritten: on DuckDB `@x` alone is also abs(x), which a query without a parameter x
// keeps meaning.

/**
 * The SQL text with each `@name` of `names` (outside '…', E'…', $tag$…$tag$ strings, "…" and `…`
 * identifiers, -- and /* *\/ comments) written `$name`.
 *
 * @example
 * bigQueryParamsToDuckDb("select '@ano', ano from t where ano = @ano -- @ano", ['ano'])
 * // "select '@ano', ano from t where ano = $ano -- @ano"
 */
export function bigQueryParamsToDuckDb(sql: string, names: Iterable<string>): string {
  const wanted = new Set(names);
  if (wanted.size === 0 || !sql.includes('@')) return sql;
  let out = '';
  let at = 0;
  const length = sql.length;
  while (at < length) {
    const char = sql[at]!;
    const next = sql[at + 1];
    let end: number;
    if (char === "'" || char === '"' || char === '`') {
      // A quote doubled inside is the quote itself; E'…' strings also escape with a backslash.
      const backslashEscapes = char === "'" && at > 0 && /[eE]/.test(sql[at - 1]!) && !isIdentifierChar(sql[at - 2]);
      end = at + 1;
      while (end < length) {
        if (backslashEscapes && sql[end] === '\\') end += 2;
        else if (sql[end] === char && sql[end + 1] === char) end += 2;
        else if (sql[end] === char) break;
        else end += 1;
      }
      end = Math.min(end + 1, length);
    } else if (char === '-' && next === '-') {
      end = sql.indexOf('\n', at);
      end = end === -1 ? length : end;
    } else if (char === '/' && next === '*') {
      end = sql.indexOf('*/', at + 2);
      end = end === -1 ? length : end + 2;
    } else if (char === '$' && !isIdentifierChar(sql[at - 1])) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(at))?.[0];
      if (tag === undefined) {
        end = at + 1;
      } else {
        const close = sql.indexOf(tag, at + tag.length);
        end = close === -1 ? length : close + tag.length;
      }
    } else if (char === '@' && !isIdentifierChar(sql[at - 1]) && sql[at - 1] !== '@') {
      const name = /^@([A-Za-z_][A-Za-z0-9_]*)/.exec(sql.slice(at, at + 1 + 300))?.[1];
      if (name !== undefined && wanted.has(name) && !isIdentifierChar(sql[at + 1 + name.length])) {
        out += `$${name}`;
        at += 1 + name.length;
        continue;
      }
      end = at + 1 + (name?.length ?? 0);
    } else {
      end = at + 1;
    }
    out += sql.slice(at, end);
    at = end;
  }
  return out;
}

function isIdentifierChar(char: string | undefined): boolean {
  return char !== undefined && /[A-Za-z0-9_$]/.test(char);
}
