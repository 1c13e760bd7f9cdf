// Numbered, append-only migrations of the SQLite store. Never edit a released migration: add one.
import { initial } from './001-initial.js';
import { retention } from './002-retention.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [initial, retention];
