/**
 * Where the farm reads sources and specs and writes outputs. Keys are StorageKey strings from the
 * RenderSpec schema (relative, lower-case, no "..") and are never taken from anywhere but a spec or
 * a job payload. Local disk is the default driver; an S3-compatible one implements the same interface.
 */

export interface StorageStat {
  size: number;
  modifiedAt: Date;
}

export interface StoredObject extends StorageStat {
  key: string;
}

/** A readable local copy (or the file itself) of a stored object; release() when done with it. */
export interface LocalFile {
  path: string;
  release(): Promise<void>;
}

export interface PutOptions {
  contentType?: string;
  immutable?: boolean;
}

export interface Storage {
  /** Short name for logs ("local", "s3"). */
  readonly driver: string;
  /**
   * Stores the file at `fromFile` under `key`, replacing any previous object atomically. `immutable`:
   * the caller never writes to `fromFile` again (it may delete it), so local disk may hard-link it
   * instead of copying.
   */
  put(key: string, fromFile: string, opts?: PutOptions): Promise<void>;
  /** Copies the object to `toFile` (parent folders are created). Throws StorageNotFoundError. */
  get(key: string, toFile: string): Promise<void>;
  /**
   * A local path to read the object from: the file itself for local disk, a downloaded temporary
   * copy for remote drivers. Treat it as read-only. Throws StorageNotFoundError.
   */
  localPath(key: string): Promise<LocalFile>;
  exists(key: string): Promise<boolean>;
  /** null when the object does not exist. */
  stat(key: string): Promise<StorageStat | null>;
  /** Deletes one object; deleting a missing object is not an error. */
  delete(key: string): Promise<void>;
  /** Deletes `prefix` itself and every key under `prefix/`; returns how many objects went. */
  deletePrefix(prefix: string): Promise<number>;
  /** Every object under `prefix/` with its size and modification time (the chunk cache's LRU clock). */
  listObjects(prefix: string): Promise<StoredObject[]>;
  /** Sets the object's modification time to now (a cache hit); a missing object is not an error. */
  touch(key: string): Promise<void>;
}

export class StorageKeyError extends Error {
  override name = 'StorageKeyError';
}

export class StorageNotFoundError extends Error {
  override name = 'StorageNotFoundError';
  constructor(readonly key: string) {
    super(`storage object not found: ${key}`);
  }
}
