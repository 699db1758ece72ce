/**
 * App-side access to the object storage (local disk by default). Keys are validated with the shared
 * StorageKey schema and the resolved path must stay inside the root: a key never escapes its folder.
 */
import { createReadStream, type ReadStream } from 'node:fs';
import { mkdir, rename, rm, stat, copyFile, writeFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { StorageKey } from '@clipmaker/shared/render-spec';

export class StorageKeyError extends Error {}

export class LocalStorage {
  constructor(readonly root: string) {}

  resolve(key: string): string {
    const parsed = StorageKey.safeParse(key);
    if (!parsed.success) throw new StorageKeyError(`invalid storage key: ${parsed.error.issues[0]?.message ?? key}`);
    const full = path.resolve(this.root, parsed.data);
    if (!full.startsWith(path.resolve(this.root) + path.sep)) throw new StorageKeyError('storage key escapes its folder');
    return full;
  }

  /** Moves (or copies across devices) a finished local file into storage. */
  async putFile(key: string, localPath: string): Promise<void> {
    const dest = this.resolve(key);
    await mkdir(path.dirname(dest), { recursive: true });
    try {
      await rename(localPath, dest);
    } catch {
      await copyFile(localPath, dest);
      await rm(localPath, { force: true });
    }
  }

  async putBytes(key: string, data: Uint8Array | string): Promise<void> {
    const dest = this.resolve(key);
    await mkdir(path.dirname(dest), { recursive: true });
    const tmp = `${dest}.tmp-${process.pid}-${Date.now()}`;
    await writeFile(tmp, data);
    await rename(tmp, dest);
  }

  async getBytes(key: string): Promise<Buffer> {
    return readFile(this.resolve(key));
  }

  async stat(key: string): Promise<{ size: number } | null> {
    try {
      const s = await stat(this.resolve(key));
      return s.isFile() ? { size: s.size } : null;
    } catch {
      return null;
    }
  }

  read(key: string, range?: { start: number; end: number }): ReadStream {
    return createReadStream(this.resolve(key), range);
  }

  async deletePrefix(prefix: string): Promise<void> {
    await rm(this.resolve(prefix), { recursive: true, force: true });
  }
}
