/** Storage on a local (or network-mounted) folder: STORAGE_DIR, default $DATA_DIR/storage (DATA_DIR default <cwd>/.data). */
import { randomBytes } from 'node:crypto';
import { copyFile, link, lstat, mkdir, readdir, realpath, rename, rm, stat, utimes } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { keyToPath } from './keys.ts';
import { StorageKeyError, StorageNotFoundError, type LocalFile, type PutOptions, type Storage, type StorageStat, type StoredObject } from './storage.ts';

export function defaultStorageDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.STORAGE_DIR || join(env.DATA_DIR || join(process.cwd(), '.data'), 'storage'));
}

function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export class LocalDiskStorage implements Storage {
  readonly driver = 'local';
  readonly root: string;

  constructor(root: string = defaultStorageDir()) {
    this.root = resolve(root);
  }

  /**
   * Key -> absolute path, refusing invalid keys, lexical escapes and escapes through a symlink
   * inside the root (the deepest existing ancestor must really live under the root).
   */
  async pathFor(key: string): Promise<string> {
    const path = keyToPath(this.root, key);
    await mkdir(this.root, { recursive: true });
    const realRoot = await realpath(this.root);
    let probe = path;
    for (;;) {
      try {
        const real = await realpath(probe);
        if (real !== realRoot && !real.startsWith(realRoot + sep)) {
          throw new StorageKeyError(`storage key ${JSON.stringify(key)} resolves outside the storage root`);
        }
        return path;
      } catch (err) {
        if (!isNotFound(err)) throw err;
        const parent = dirname(probe);
        if (parent === probe) return path;
        probe = parent;
      }
    }
  }

  async put(key: string, fromFile: string, opts: PutOptions = {}): Promise<void> {
    const path = await this.pathFor(key);
    await mkdir(dirname(path), { recursive: true });
    // Copy (or link) beside the target then rename, so readers never see a half-written object.
    const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
    try {
      // A file nobody writes again is linked on the same filesystem: no bytes copied.
      if (!opts.immutable || !(await link(fromFile, tmp).then(() => true, () => false))) await copyFile(fromFile, tmp);
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async get(key: string, toFile: string): Promise<void> {
    const path = await this.existingFile(key);
    await mkdir(dirname(resolve(toFile)), { recursive: true });
    await copyFile(path, toFile);
  }

  async localPath(key: string): Promise<LocalFile> {
    const path = await this.existingFile(key);
    return { path, release: async () => {} };
  }

  async exists(key: string): Promise<boolean> {
    return (await this.stat(key)) !== null;
  }

  async stat(key: string): Promise<StorageStat | null> {
    const path = await this.pathFor(key);
    try {
      const s = await stat(path);
      return s.isFile() ? { size: s.size, modifiedAt: s.mtime } : null;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    const path = await this.pathFor(key);
    try {
      if ((await lstat(path)).isDirectory()) return; // a "folder" is not an object; see deletePrefix
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    await rm(path, { force: true });
  }

  async deletePrefix(prefix: string): Promise<number> {
    const path = await this.pathFor(prefix);
    let count = 0;
    try {
      const s = await lstat(path);
      count = s.isDirectory() ? await countFiles(path) : 1;
    } catch (err) {
      if (isNotFound(err)) return 0;
      throw err;
    }
    await rm(path, { recursive: true, force: true });
    return count;
  }

  async listObjects(prefix: string): Promise<StoredObject[]> {
    const root = await this.pathFor(prefix);
    const out: StoredObject[] = [];
    const walk = async (dir: string, keyPrefix: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (isNotFound(err)) return;
        throw err;
      }
      for (const e of entries) {
        if (e.isDirectory()) await walk(join(dir, e.name), `${keyPrefix}/${e.name}`);
        else if (e.isFile() && !e.name.includes('.tmp-')) {
          try {
            const s = await stat(join(dir, e.name));
            out.push({ key: `${keyPrefix}/${e.name}`, size: s.size, modifiedAt: s.mtime });
          } catch (err) {
            if (!isNotFound(err)) throw err; // deleted meanwhile (another sweeper)
          }
        }
      }
    };
    await walk(root, prefix);
    return out;
  }

  async touch(key: string): Promise<void> {
    const path = await this.pathFor(key);
    const now = new Date();
    try {
      await utimes(path, now, now);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  private async existingFile(key: string): Promise<string> {
    const path = await this.pathFor(key);
    try {
      if ((await stat(path)).isFile()) return path;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    throw new StorageNotFoundError(key);
  }
}

async function countFiles(dir: string): Promise<number> {
  let n = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) n += await countFiles(join(dir, entry.name));
    else n += 1;
  }
  return n;
}
