// The register action's report: reads what `fluxo register --json` printed and writes the step
// outputs (new, unchanged, failed, reported, reason) to $GITHUB_OUTPUT and a Markdown table of every
// flow to $GITHUB_STEP_SUMMARY. It never fails the step on a failed flow (the action's last step
// does, after this summary is written); it fails only on a broken environment.
//
// Plain Node, no dependencies: it runs before or without fluxo's node_modules in some setups.
//
// Environment: FLUXO_RESULT (the JSON stdout of `fluxo register`), FLUXO_ERRORS (its stderr),
// FLUXO_EXIT_CODE, FLUXO_PROJECT, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_WORKSPACE.
import { appendFileSync, readFileSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';

const env = process.env;
const exitCode = env.FLUXO_EXIT_CODE ?? '';
const project = env.FLUXO_PROJECT || 'production';

const result = readResult(env.FLUXO_RESULT);
const outputs = result
  ? { ...countsOf(result), reported: 'true', reason: '' }
  : { new: '0', unchanged: '0', failed: '0', reported: 'false', reason: reasonWithoutResult() };

append(env.GITHUB_OUTPUT, Object.entries(outputs).map(([key, value]) => `${key}=${value}\n`).join(''));
append(env.GITHUB_STEP_SUMMARY, result ? tableOf(result) : failureWithoutResult(outputs.reason));
if (result) {
  // Annotations: each failed flow shows on the run's page without opening the log.
  for (const flow of result.flows.filter((f) => f.status === 'failed')) {
    process.stdout.write(`::error title=${command(`fluxo register: ${displayPath(flow.path)}`, true)}::${command(flow.name ? `${flow.name}: ${reasonOf(flow)}` : reasonOf(flow))}\n`);
  }
  process.stdout.write(`${totalsOf(result)}\n`);
}

/**
 * The parsed `fluxo register --json` result, or null when there is none (fluxo stopped before it
 * could report: unreachable API, refused token, bad arguments).
 */
function readResult(path) {
  if (!path) return null;
  let text;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  if (text.trim() === '') return null;
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (!parsed || typeof parsed !== 'object' || !parsed.summary || !Array.isArray(parsed.flows)) return null;
  return parsed;
}

function countsOf(result) {
  const count = (key, status) => {
    const n = result.summary[key];
    return String(Number.isInteger(n) ? n : result.flows.filter((f) => f.status === status).length);
  };
  return { new: count('new', 'new'), unchanged: count('unchanged', 'unchanged'), failed: count('failed', 'failed') };
}

/**
 * Why fluxo reported nothing, on one line: its `error: ...` line (fluxo's and commander's errors
 * both start so; the usage text after a usage error says nothing more), else its last line, else
 * its exit code.
 */
function reasonWithoutResult() {
  let errors = '';
  try {
    errors = env.FLUXO_ERRORS ? readFileSync(env.FLUXO_ERRORS, 'utf8') : '';
  } catch {
    // No stderr file: the exit code is all there is.
  }
  const lines = errors.split('\n').map((line) => line.trim()).filter(Boolean);
  if (lines.length === 0) return exitCode === '0' ? 'fluxo printed no result' : `fluxo exited with ${exitCode || 'an unknown code'} and printed nothing`;
  return oneLine(lines.find((line) => line.startsWith('error:')) ?? lines.at(-1), 500);
}

function tableOf(result) {
  const rows = result.flows.map((flow) =>
    [flowLabel(flow), `\`${displayPath(flow.path)}\``, statusOf(flow.status), flow.version ?? '', flow.status === 'failed' ? reasonOf(flow) : '']
      .map((cell) => cellOf(String(cell)))
      .join(' | '),
  );
  return [
    `### fluxo register → ${cellOf(project)}`,
    '',
    '| Flow | Path | Status | Version | Reason |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((row) => `| ${row} |`),
    '',
    `**${totalsOf(result)}**`,
    '',
    '',
  ].join('\n');
}

function failureWithoutResult(reason) {
  return [`### fluxo register → ${cellOf(project)}`, '', `fluxo register failed before reporting any flow (exit code ${exitCode || 'unknown'}):`, '', '```', reason, '```', '', ''].join('\n');
}

function totalsOf(result) {
  const { summary } = result;
  const counts = countsOf(result);
  const parts = [`${counts.new} new`, `${counts.unchanged} unchanged`, `${counts.failed} failed`];
  if (summary.skipped) parts.push(`${summary.skipped} skipped`);
  const uploaded = Number.isInteger(summary.uploaded) ? `; ${summary.uploaded} bundle${summary.uploaded === 1 ? '' : 's'} uploaded` : '';
  return `${parts.join(', ')} (project ${project}${uploaded})`;
}

function statusOf(status) {
  return { new: '🆕 new', unchanged: '✔️ unchanged', failed: '❌ failed' }[status] ?? String(status);
}

function flowLabel(flow) {
  return flow.name ?? (flow.exportName ? `(${flow.exportName})` : '—');
}

function reasonOf(flow) {
  if (!flow.error) return 'failed';
  return flow.error.code ? `${flow.error.code}: ${flow.error.message}` : String(flow.error.message);
}

/** A path as the repository names it: relative to the workspace when it lies inside it. */
function displayPath(path) {
  const workspace = env.GITHUB_WORKSPACE;
  if (!path || !workspace || !isAbsolute(path)) return path ?? '';
  const inside = relative(workspace, path);
  return inside && !inside.startsWith('..') && !isAbsolute(inside) ? inside : path;
}

/** A table cell: one line, pipes escaped, bounded (a stack trace would drown the table). */
function cellOf(text) {
  return oneLine(text, 300).replaceAll('|', '\\|');
}

function oneLine(text, max) {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** Escapes workflow-command data (and, with `property`, a property value) the way the runner reads it. */
function command(text, property = false) {
  let escaped = text.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A');
  if (property) escaped = escaped.replaceAll(':', '%3A').replaceAll(',', '%2C');
  return escaped;
}

function append(path, text) {
  if (!path) throw new Error('summarize: GITHUB_OUTPUT and GITHUB_STEP_SUMMARY must be set (this script runs inside the register action)');
  appendFileSync(path, text);
}
