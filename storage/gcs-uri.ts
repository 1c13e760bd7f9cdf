// `gs://` URIs as fluxo writes and reads them. An object URI may pin one generation of the object
// with a fragment, `gs://bucket/name#generation`: the notation gsutil and `gcloud storage` use for
// object versions, so an operator can paste a registered URI into either tool and get the same bytes.
import { FluxoError } from '../common/errors.js';

/** A bucket, and an object name inside it (empty for a bucket or base URI). */
export interface GcsLocation {
  bucket: string;
  /** Object name, or for a base URI the prefix without a trailing slash; '' when none. */
  name: string;
  /** The pinned generation (decimal int64), when the URI carries one. */
  generation?: string | undefined;
}

// Bucket names: 3-63 lowercase letters, digits, '-', '_' and '.' (dotted names up to 222), starting
// and ending with a letter or digit (https://cloud.google.com/storage/docs/buckets#naming).
const BUCKET = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;
// Object names fluxo writes and reads: a conservative subset of what GCS allows, so a name never
// needs percent-encoding in a URI and can never climb out of a prefix.
const NAME = /^[A-Za-z0-9._/-]+$/;
const GENERATION = /^[1-9][0-9]{0,18}$/;
const GS_URI = /^gs:\/\/([^/?#]*)(?:\/([^?#]*))?(?:#(.*))?$/;

/** True when `name` is a usable object name or prefix: no empty, `.` or `..` segments. */
export function isObjectName(name: string): boolean {
  return NAME.test(name) && name.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

/**
 * Parses `gs://bucket[/name][#generation]`; throws BAD_USER_INPUT on anything else.
 *
 * @example parseGcsUri('gs://fluxo-code/bundles/ab12.mjs#1712345678901234')
 * // { bucket: 'fluxo-code', name: 'bundles/ab12.mjs', generation: '1712345678901234' }
 */
export function parseGcsUri(uri: string): GcsLocation {
  const match = GS_URI.exec(uri);
  if (!match) throw new FluxoError('BAD_USER_INPUT', `"${uri}" is not a gs:// URI (use gs://bucket/object)`);
  const [, bucket = '', rawName = '', generation] = match;
  if (!BUCKET.test(bucket)) {
    throw new FluxoError('BAD_USER_INPUT', `"${uri}": "${bucket}" is not a Cloud Storage bucket name (3-63 lowercase letters, digits, '-', '_', '.')`);
  }
  const name = rawName.replace(/\/+$/, '');
  if (name !== '' && !isObjectName(name)) {
    throw new FluxoError('BAD_USER_INPUT', `"${uri}": object name "${rawName}" must be letters, digits, '.', '_', '-' and '/' without empty, '.' or '..' segments`);
  }
  if (generation !== undefined && !GENERATION.test(generation)) {
    throw new FluxoError('BAD_USER_INPUT', `"${uri}": generation "${generation}" is not a positive integer`);
  }
  return { bucket, name, generation };
}

/**
 * Formats a location as `gs://bucket/name` plus `#generation` when pinned.
 *
 * @example formatGcsUri({ bucket: 'b', name: 'bundles/x.mjs', generation: '7' }) // 'gs://b/bundles/x.mjs#7'
 */
export function formatGcsUri({ bucket, name, generation }: GcsLocation): string {
  return `gs://${bucket}${name === '' ? '' : `/${name}`}${generation === undefined ? '' : `#${generation}`}`;
}
