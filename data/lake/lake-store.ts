// What a lake needs from where its objects live: list a prefix, put a local file under a key,
// delete an object as it was listed, and lend a local copy of one. The file:// and gs:// lakes
// differ only here; the write logic (store-lake.ts) is the same for both.

/** Who wrote an object, as `<outputKey>/<writeKey>/a<attempt>` (kept as object metadata on GCS). */
export type WriteOwner = string;

/** One object under the lake's root. */
export interface LakeObject {
  /** Key relative to the root: `staging/<dataset>/<table>/k=v/<file>`. */
  key: string;
  size: number;
  /** The object's generation (GCS), as listed; undefined on file://. */
  generation?: string | undefined;
  /** The writer recorded with the object (GCS), or undefined. */
  owner?: WriteOwner | undefined;
}

export interface PutOptions {
  /** The object under the same key as listed before the write (a retry of the same attempt wrote it), or undefined: create-only. */
  replaces?: LakeObject | undefined;
  owner: WriteOwner;
}

export interface LakeStore {
  /** The root URI (`file:///dir`, `gs://bucket/prefix`). */
  readonly root: string;
  /** True when objects carry their writer (`LakeObject.owner`), so a foreign object under one of our names can be told apart. */
  readonly tracksOwners: boolean;
  /** The URI of a key. */
  uriOf(key: string): string;
  /** Every object whose key starts with `prefix` (which ends with `/`), including temp files left by a crash. */
  list(prefix: string): Promise<LakeObject[]>;
  /** Puts a local file under `key`, never visible half-written; returns its size. */
  put(localPath: string, key: string, options: PutOptions): Promise<{ bytes: number }>;
  /** Deletes an object as listed; false when it was already gone. */
  delete(object: LakeObject): Promise<boolean>;
  /** Runs `work` with a local copy of an object (downloaded to a temp file if need be). */
  withLocalCopy<T>(key: string, work: (path: string) => Promise<T>): Promise<T>;
  /** Removes folders left empty under `prefix` (file://; a no-op on GCS, which has no folders). */
  prune(prefix: string): Promise<void>;
}
