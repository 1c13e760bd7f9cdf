// The lake named by the data settings: `file:///abs/dir` (a local directory) or
// `gs://bucket[/prefix]` (Cloud Storage). Opening touches nothing; the first operation does.
import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Storage } from '@google-cloud/storage';
import { DataError, type GoogleSettings, type Lake } from '../contract.js';
import { FileLakeStore } from './file-store.js';
import { GcsLakeStore } from './gcs-store.js';
import { StoreLake } from './store-lake.js';

export { StoreLake } from './store-lake.js';

const ACCEPTED = 'use file:///absolute/dir or gs://bucket[/prefix]';
// Bucket names: 3-63 lowercase letters, digits, '-', '_', '.' (dotted up to 222), starting and ending with a letter or digit.
const BUCKET = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;
const PREFIX_SEGMENT = /^[A-Za-z0-9._-]+$/;

/** Knobs for tests and unusual hosts; the settings alone are enough in production. */
export interface OpenLakeOptions {
  /** Where writes prepare files and gs:// reads download them. @default os.tmpdir() */
  tempDir?: string;
  /** Rows per file before a partition is split. @default 1_000_000 */
  rowsPerFile?: number;
  /** A ready Cloud Storage client for gs:// lakes (instead of one built from `google`). */
  storage?: Storage;
}

/**
 * Opens the lake at `uri`. Throws DATA_CONFIG_INVALID for anything but the two accepted forms.
 *
 * @example const lake = openLake('file:///var/lib/fluxo/lake');
 * @example const lake = openLake('gs://rj-escritorio-lake/prod', { storageEndpoint: 'http://127.0.0.1:4443' });
 */
export function openLake(uri: string, google?: GoogleSettings, options: OpenLakeOptions = {}): Lake {
  if (typeof uri !== 'string') throw new DataError('DATA_CONFIG_INVALID', `lake ${JSON.stringify(uri)} is not a URI; ${ACCEPTED}`);
  const lakeOptions = { tempDir: options.tempDir, rowsPerFile: options.rowsPerFile };
  if (uri.startsWith('file:')) {
    let dir: string;
    try {
      const url = new URL(uri);
      // `file:lake` and `file://host/…` parse too (as /lake, and a UNC host): only `file:///` names an absolute local path.
      if (!uri.startsWith('file:///') || url.host !== '' || url.search !== '' || url.hash !== '') throw new Error('not file:///');
      dir = fileURLToPath(url);
    } catch {
      throw new DataError('DATA_CONFIG_INVALID', `lake "${uri}" is not a local directory URI; ${ACCEPTED}`);
    }
    if (!isAbsolute(dir)) throw new DataError('DATA_CONFIG_INVALID', `lake "${uri}" is not absolute; ${ACCEPTED}`);
    return new StoreLake(new FileLakeStore(dir), lakeOptions);
  }
  const gs = /^gs:\/\/([^/?#]+)(?:\/([^?#]*))?$/.exec(uri);
  if (gs) {
    const bucket = gs[1] ?? '';
    const prefix = (gs[2] ?? '').replace(/\/+$/, '');
    if (!BUCKET.test(bucket)) {
      throw new DataError('DATA_CONFIG_INVALID', `lake "${uri}": "${bucket}" is not a Cloud Storage bucket name (3-63 lowercase letters, digits, '-', '_', '.'); ${ACCEPTED}`);
    }
    if (prefix !== '' && !prefix.split('/').every((segment) => PREFIX_SEGMENT.test(segment) && segment !== '.' && segment !== '..')) {
      throw new DataError('DATA_CONFIG_INVALID', `lake "${uri}": prefix "${prefix}" must be letters, digits, '.', '_', '-' and '/' without empty, '.' or '..' segments; ${ACCEPTED}`);
    }
    return new StoreLake(new GcsLakeStore(bucket, prefix, google ?? {}, { storage: options.storage, tempDir: options.tempDir }), lakeOptions);
  }
  throw new DataError('DATA_CONFIG_INVALID', `lake "${uri}" is not supported; ${ACCEPTED}`);
}
