// The agent's cost of masking a run's secrets, per log line (agent/secret-masker.ts).
//
//   npm run build && node dist/bench/secret-masking.js [--lines 200000]
//
// Three sets of secrets (one 32-character token; the token and a 2048-bit RSA key as a 28-line
// PEM; ten tokens) against three kinds of line: an ordinary ~100-character log line, one that
// holds the token URL-encoded, and a 32 KiB line (the longest the agent relays). Beside each
// figure, the masker before issue 9 (split/join of each whole value) for comparison. One core.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { maskerOf, needlesOf } from '../agent/secret-masker.js';

const { values } = parseArgs({ options: { lines: { type: 'string', default: '200000' } } });
const LINES = Number(values.lines);

const token = randomBytes(24).toString('base64');
const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString().trim();
const secretSets: Record<string, string[]> = {
  'one token': [token],
  'token + 28-line PEM': [token, pem],
  'ten tokens': Array.from({ length: 10 }, () => randomBytes(24).toString('base64')),
};

const ordinary = (i: number) => `batch ${i}: loaded ${(i * 7919) % 100_000} rows into br_rj_riodejaneiro_staging.registros (partition ${i % 365})`;
const lineKinds: Record<string, (i: number) => string> = {
  'ordinary ~100 chars': ordinary,
  'holds the token URL-encoded': (i) => `GET https://api.example/v1?key=${encodeURIComponent(token)}&page=${i}`,
  '32 KiB': (i) => `${ordinary(i)} `.repeat(330).slice(0, 32 * 1024),
};

/** The masker before issue 9: split/join of each whole value, longest first. */
function previousMaskerOf(secrets: string[]): (text: string) => string {
  const masked = [...new Set(secrets)].filter((value) => value.length >= 4).sort((a, b) => b.length - a.length);
  return (text) => masked.reduce((out, value) => out.split(value).join('***'), text);
}

function microsPerLine(mask: (text: string) => string, line: (i: number) => string, count: number): number {
  const lines = Array.from({ length: 1000 }, (_, i) => line(i));
  let sink = 0;
  for (let i = 0; i < 2000; i++) sink += mask(lines[i % 1000]!).length; // warm-up
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) sink += mask(lines[i % 1000]!).length;
  const elapsed = Number(process.hrtime.bigint() - started) / 1000;
  if (sink < 0) console.log(sink);
  return elapsed / count;
}

console.log(`secret masking, µs per line (${LINES} lines; 32 KiB lines: ${LINES / 100})`);
console.log('| secrets | needles | line | now | before issue 9 |');
console.log('|---|---:|---|---:|---:|');
for (const [setName, secrets] of Object.entries(secretSets)) {
  const startedBuild = process.hrtime.bigint();
  const mask = maskerOf(secrets);
  const buildMs = Number(process.hrtime.bigint() - startedBuild) / 1e6;
  const previous = previousMaskerOf(secrets);
  for (const [kind, line] of Object.entries(lineKinds)) {
    const count = kind === '32 KiB' ? LINES / 100 : LINES;
    const now = microsPerLine(mask, line, count);
    const before = microsPerLine(previous, line, count);
    console.log(`| ${setName} (built in ${buildMs.toFixed(1)} ms) | ${needlesOf(secrets).length} | ${kind} | ${now.toFixed(2)} | ${before.toFixed(2)} |`);
  }
}
