// Masking a run's secret values in the text that leaves the agent (log lines, task-state messages,
// the final message, the agent's own log). A value leaks in more shapes than itself, so the masker
// looks for "needles" derived from each value:
//
//   - the value, with LF and with CRLF line breaks, JSON-escaped (JSON.stringify without the
//     quotes, also with \uXXXX for non-ASCII), URL-encoded (encodeURIComponent, encodeURI, form
//     encoding), hex (both cases), and base64 and base64url: whole, and the "stable core" of the
//     value after 0, 1 and 2 other bytes (the value inside a larger encoded blob, such as
//     `Basic base64(user:password)`). The core is the run of characters that only the value's bits
//     decide; the one or two characters at each end it shares with its neighbours stay visible,
//     at most 4 to 6 bits of the value each;
//   - each line of a multi-line value, without its indentation (a PEM printed with console.log
//     arrives as one stdout line per PEM line), itself, JSON-escaped and URL-encoded. A line's own
//     hex or base64 is not looked for: a value's lines get encoded with the value, which is.
//
// A value split over a line break (wrapped output, two console.log calls) is caught by its line
// edges: a line that ends with a prefix of a needle or starts with a suffix of one is masked there
// when that piece has at least MIN_FRAGMENT_LENGTH characters, and a line wholly inside a needle
// (a wrapped base64 blob) when it has at least MIN_INFIX_LENGTH.
//
// This keeps honest mistakes out of fluxo's logs. It cannot stop flow code that wants the value
// out (reversed, one character a line, sent over the network): see docs/security.md#secrets.
//
// Cost: a line is first read once with a rolling hash of its 6-character windows against a bit
// set of some of the needles' windows (the first, the last, and one in every 11: enough for a
// whole needle, a piece at an edge and a line inside one to share one); only the needles sharing
// an exact window with the line are then searched (bench/secret-masking.ts has the figures).

/** Values (and lines of values) shorter than this are not masked: masking "a" or "1" everywhere would garble the logs. */
export const MIN_MASKED_LENGTH = 4;
/** The shortest piece of a value masked at a line's edge when the value is split over lines. */
export const MIN_FRAGMENT_LENGTH = 6;
/** The shortest line masked for lying wholly inside a value (a line of wrapped base64). */
export const MIN_INFIX_LENGTH = 16;
/** What a masked piece becomes. */
export const MASK = '***';

/** Window of the prefilter: needles this long or longer are found through their windows, shorter ones by a plain search. */
const GRAM = MIN_FRAGMENT_LENGTH;
/** Windows indexed in the middle of a needle: any MIN_INFIX_LENGTH characters of it contain one. */
const STRIDE = MIN_INFIX_LENGTH - GRAM + 1;
/** log2 of the prefilter's bit set size (128 KiB; a 57 KB secret's ~200,000 indexed windows fill a fifth of it). */
const FILTER_BITS = 20;
const HASH_BASE = 0x01000193;
/** HASH_BASE^(GRAM-1) mod 2^32, to roll the first character of a window out. */
const HASH_OUT = Array.from({ length: GRAM - 1 }).reduce<number>((power) => Math.imul(power, HASH_BASE), 1);
/** Trimmed from a line's ends before its edges are compared: white space, and the agent's own clipping mark. */
const EDGE_TRIM = /[\s…]/;

/**
 * The forms of `values` the masker looks for (see the module comment), without duplicates, each at
 * least MIN_MASKED_LENGTH long.
 *
 * @example needlesOf(['pa ss/word']) // ['pa ss/word', 'pa%20ss%2Fword', 'pa+ss%2Fword', '7061...', 'cGEgc3Mvd29yZA==', ...]
 */
export function needlesOf(values: readonly string[]): string[] {
  const needles = new Set<string>();
  for (const value of values) {
    // Line breaks and blanks alone are no secret worth garbling every log for.
    if (value.trim().length < MIN_MASKED_LENGTH) continue;
    const add = (forms: string[]) => forms.forEach((form) => form.length >= MIN_MASKED_LENGTH && needles.add(form));
    for (const whole of new Set([value, value.replace(/\r\n/g, '\n'), value.replace(/\r?\n/g, '\r\n')])) add(encodingsOf(whole));
    const lines = value.split(/\r?\n/).map((line) => line.trim());
    if (lines.length > 1) for (const line of new Set(lines)) if (line.length >= MIN_MASKED_LENGTH) add(textFormsOf(line));
  }
  return [...needles];
}

/** The text, JSON-escaped and URL-encoded. */
function textFormsOf(text: string): string[] {
  const json = JSON.stringify(text).slice(1, -1);
  return [
    text,
    json,
    json.replace(/[^\x00-\x7f]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`),
    safely(() => encodeURIComponent(text)),
    safely(() => encodeURI(text)),
    new URLSearchParams([['', text]]).toString().slice(1),
  ];
}

/** The text forms, hex, base64 and base64url (whole, and the cores at each alignment). */
function encodingsOf(text: string): string[] {
  const bytes = Buffer.from(text, 'utf8');
  const forms = [
    ...textFormsOf(text),
    bytes.toString('hex'),
    bytes.toString('hex').toUpperCase(),
  ];
  for (const alphabet of ['base64', 'base64url'] as const) {
    forms.push(bytes.toString(alphabet));
    for (let pad = 0; pad < 3; pad++) {
      const encoded = Buffer.concat([Buffer.alloc(pad), bytes]).toString(alphabet);
      // Characters 0..ceil(8·pad/6)-1 carry bits of the preceding bytes, those from floor(8·(pad+n)/6) on of the following ones.
      forms.push(encoded.slice(Math.ceil((8 * pad) / 6), Math.floor((8 * (pad + bytes.length)) / 6)));
    }
  }
  return forms;
}

/** encodeURI* throw on a lone surrogate; such a value has no URL form. */
function safely(encode: () => string): string {
  try {
    return encode();
  } catch {
    return '';
  }
}

/** A function that masks every needle of `values` in a text (identity without values to mask). */
export type Masker = (text: string) => string;

/**
 * Builds the masker of a run's secret values.
 *
 * @example
 * const mask = maskerOf(['pa ss/word']);
 * mask('GET /login?password=pa%20ss%2Fword'); // 'GET /login?password=***'
 */
export function maskerOf(values: readonly string[]): Masker {
  const needles = needlesOf(values);
  if (needles.length === 0) return (text) => text;
  const short = needles.flatMap((needle, index) => (needle.length < GRAM ? [index] : []));
  // Every long needle, every piece of one at a line's edge (>= MIN_FRAGMENT_LENGTH = GRAM: it holds
  // the needle's first or last window) and every line inside one (>= MIN_INFIX_LENGTH) holds an indexed window.
  const byGram = new Map<string, number[]>();
  const filter = new Uint32Array(2 ** (FILTER_BITS - 5));
  needles.forEach((needle, index) => {
    if (needle.length < GRAM) return;
    const last = needle.length - GRAM;
    for (let at = 0; at <= last; at = at === last ? last + 1 : Math.min(at + STRIDE, last)) {
      const gram = needle.slice(at, at + GRAM);
      const owners = byGram.get(gram);
      if (!owners) byGram.set(gram, [index]);
      else if (owners[owners.length - 1] !== index) owners.push(index);
      const bit = slot(windowHash(needle, at));
      filter[bit >>> 5]! |= 1 << (bit & 31);
    }
  });
  return (text) => {
    if (text.length < MIN_MASKED_LENGTH) return text;
    const candidates = new Set<number>(short);
    if (text.length >= GRAM) {
      let hash = windowHash(text, 0);
      for (let at = 0; ; at++) {
        const bit = slot(hash);
        if (filter[bit >>> 5]! & (1 << (bit & 31))) {
          const owners = byGram.get(text.slice(at, at + GRAM));
          if (owners) for (const index of owners) candidates.add(index);
        }
        if (at + GRAM >= text.length) break;
        hash = (Math.imul(hash - Math.imul(text.charCodeAt(at), HASH_OUT), HASH_BASE) + text.charCodeAt(at + GRAM)) | 0;
      }
    }
    if (candidates.size === 0) return text;
    const spans: [number, number][] = [];
    for (const index of candidates) findIn(text, needles[index]!, spans);
    return spans.length === 0 ? text : render(text, spans);
  };
}

/** Polynomial hash of the GRAM characters of `text` from `at` (rolled forward in the scan above). */
function windowHash(text: string, at: number): number {
  let hash = 0;
  for (let i = at; i < at + GRAM; i++) hash = (Math.imul(hash, HASH_BASE) + text.charCodeAt(i)) | 0;
  return hash;
}

function slot(hash: number): number {
  return Math.imul(hash, 0x9e3779b1) >>> (32 - FILTER_BITS);
}

/** Adds the spans of `text` that `needle` covers: its occurrences, and its pieces at line edges. */
function findIn(text: string, needle: string, spans: [number, number][]): void {
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + 1)) spans.push([at, at + needle.length]);
  if (needle.length <= MIN_FRAGMENT_LENGTH) return;
  const head = needle.slice(0, MIN_FRAGMENT_LENGTH);
  for (let lineStart = 0; lineStart <= text.length; ) {
    const newline = text.indexOf('\n', lineStart);
    const lineEnd = newline === -1 ? text.length : newline;
    let start = lineStart;
    let end = lineEnd;
    while (start < end && EDGE_TRIM.test(text[start]!)) start++;
    while (end > start && EDGE_TRIM.test(text[end - 1]!)) end--;
    const length = end - start;
    if (length >= MIN_FRAGMENT_LENGTH && length < needle.length) {
      if (length >= MIN_INFIX_LENGTH && needle.includes(text.slice(start, end))) spans.push([start, end]);
      else {
        // The line ends with the needle's beginning: the leftmost match is the longest piece.
        for (let at = text.indexOf(head, Math.max(start, end - needle.length + 1)); at !== -1 && at + MIN_FRAGMENT_LENGTH <= end; at = text.indexOf(head, at + 1)) {
          if (needle.startsWith(text.slice(at, end))) {
            spans.push([at, end]);
            break;
          }
        }
        // The line starts with the needle's end: the leftmost place in the needle is the longest piece.
        const tail = text.slice(start, start + MIN_FRAGMENT_LENGTH);
        for (let from = needle.indexOf(tail, 1); from !== -1; from = needle.indexOf(tail, from + 1)) {
          const piece = needle.length - from;
          if (piece <= length && text.startsWith(needle.slice(from), start)) {
            spans.push([start, start + piece]);
            break;
          }
        }
      }
    }
    if (newline === -1) break;
    lineStart = newline + 1;
  }
}

/** `text` with each run of overlapping or touching spans replaced by one MASK. */
function render(text: string, spans: [number, number][]): string {
  spans.sort((a, b) => a[0] - b[0]);
  let out = '';
  let copied = 0;
  let [from, to] = spans[0]!;
  for (const [start, end] of spans) {
    if (start <= to) {
      to = Math.max(to, end);
      continue;
    }
    out += text.slice(copied, from) + MASK;
    copied = to;
    [from, to] = [start, end];
  }
  return out + text.slice(copied, from) + MASK + text.slice(to);
}
