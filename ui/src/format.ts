// Dates, durations and state names as operators read them.
import { finalStates, runStates } from '../../contract/states.js';

/** `2026-12-04 09:05:52` in the browser's zone. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** `3 min ago`, `in 2 h`. */
export function formatRelative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  const abs = Math.abs(seconds);
  const text = abs < 60 ? `${abs} s` : abs < 3600 ? `${Math.round(abs / 60)} min` : abs < 86_400 ? `${Math.round(abs / 3600)} h` : `${Math.round(abs / 86_400)} d`;
  return seconds <= 0 ? `${text} ago` : `in ${text}`;
}

/** `1.2 s`, `3 min 4 s`, `2 h 5 min`. */
export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

/** Duration of something that started and maybe ended. */
export function durationOf(startedAt: string | null | undefined, endedAt: string | null | undefined, now = Date.now()): number | null {
  if (!startedAt) return null;
  return (endedAt ? new Date(endedAt).getTime() : now) - new Date(startedAt).getTime();
}

// The lists are the contract's (contract/states.ts, dependency-free), so the filters cannot drift from the server.
export const RUN_STATES = runStates;
export type RunState = (typeof RUN_STATES)[number];

export const FINAL_STATES: ReadonlySet<string> = new Set(finalStates);

/** `TIMED_OUT` → `Timed out`. */
export function stateLabel(state: string): string {
  const lower = state.toLowerCase().replace('_', ' ');
  return lower.charAt(0).toUpperCase() + lower.slice(1);
}

/** Colour group of a state (styles.css `.state-*`), each readable at 4.5:1 on white. */
export function stateGroup(state: string): 'ok' | 'bad' | 'live' | 'wait' | 'off' {
  switch (state) {
    case 'SUCCESS':
      return 'ok';
    case 'FAILED':
    case 'CRASHED':
    case 'TIMED_OUT':
      return 'bad';
    case 'RUNNING':
    case 'SUBMITTED':
    case 'RETRYING':
    case 'CANCELLING':
      return 'live';
    case 'SCHEDULED':
      return 'wait';
    default:
      return 'off';
  }
}

/** The part of a run id people tell apart: ids are UUIDv7, whose first digits are the creation time. */
export function shortId(id: string): string {
  return id.length > 12 ? id.slice(-8) : id;
}
