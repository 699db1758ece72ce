import { mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalDiskStorage, StorageKeyError, StorageNotFoundError } from '../../src/storage/index.ts';
import { tempDir } from '../support/media.ts';

let dir: string;
let storage: LocalDiskStorage;
let src: string;
beforeAll(async () => {
  dir = await tempDir('storage');
  storage = new LocalDiskStorage(join(dir, 'root'));
  src = join(dir, 'hello.txt');
  await writeFile(src, 'hello');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('LocalDiskStorage', () => {
  it('puts, stats, gets, reads in place and deletes objects', async () => {
    await storage.put('renders/r1/output.mp4', src);
    expect(await storage.exists('renders/r1/output.mp4')).toBe(true);
    expect((await storage.stat('renders/r1/output.mp4'))?.size).toBe(5);
    const copy = join(dir, 'out', 'copy.txt');
    await storage.get('renders/r1/output.mp4', copy);
    expect(await readFile(copy, 'utf8')).toBe('hello');
    const local = await storage.localPath('renders/r1/output.mp4');
    expect(local.path).toBe(join(dir, 'root', 'renders', 'r1', 'output.mp4'));
    await local.release();
    await storage.delete('renders/r1/output.mp4');
    expect(await storage.exists('renders/r1/output.mp4')).toBe(false);
    await storage.delete('renders/r1/output.mp4'); // missing: not an error
  });

  it('immutable puts link the file (same inode, nothing copied); plain puts copy it', async () => {
    const handed = join(dir, 'handed.bin');
    await writeFile(handed, 'rendered');
    await storage.put('renders/r3/output.mp4', handed, { immutable: true });
    const linked = await storage.localPath('renders/r3/output.mp4');
    expect((await stat(linked.path)).ino).toBe((await stat(handed)).ino);
    // The caller removes its file (the job folder goes): the object stays whole.
    await rm(handed);
    expect(await readFile(linked.path, 'utf8')).toBe('rendered');
    const own = join(dir, 'own.bin');
    await writeFile(own, 'mine');
    await storage.put('renders/r3/poster.jpg', own);
    const copied = await storage.localPath('renders/r3/poster.jpg');
    expect((await stat(copied.path)).ino).not.toBe((await stat(own)).ino);
    await writeFile(own, 'changed later');
    expect(await readFile(copied.path, 'utf8')).toBe('mine');
  });

  it('reports missing objects clearly', async () => {
    expect(await storage.stat('nope/x.mp4')).toBeNull();
    await expect(storage.localPath('nope/x.mp4')).rejects.toBeInstanceOf(StorageNotFoundError);
    await expect(storage.get('nope/x.mp4', join(dir, 'y'))).rejects.toThrow('storage object not found: nope/x.mp4');
  });

  it('deletes a prefix and everything under it, and nothing beside it', async () => {
    for (const k of ['renders/r2/output.mp4', 'renders/r2/poster.jpg', 'renders/r2/chunks/c0.mp4', 'renders/r20/output.mp4']) await storage.put(k, src);
    expect(await storage.deletePrefix('renders/r2')).toBe(3);
    expect(await storage.exists('renders/r2/poster.jpg')).toBe(false);
    expect(await storage.exists('renders/r20/output.mp4')).toBe(true);
    expect(await storage.deletePrefix('renders/r2')).toBe(0);
  });

  it.each(['../escape.txt', 'a/../../escape.txt', '/etc/passwd', '/tmp/x', 'Upper.mp4', 'a//b', 'a/./b'])('refuses the key %j for every operation', async (key) => {
    await expect(storage.put(key, src)).rejects.toBeInstanceOf(StorageKeyError);
    await expect(storage.get(key, join(dir, 'z'))).rejects.toBeInstanceOf(StorageKeyError);
    await expect(storage.localPath(key)).rejects.toBeInstanceOf(StorageKeyError);
    await expect(storage.exists(key)).rejects.toBeInstanceOf(StorageKeyError);
    await expect(storage.stat(key)).rejects.toBeInstanceOf(StorageKeyError);
    await expect(storage.delete(key)).rejects.toBeInstanceOf(StorageKeyError);
    await expect(storage.deletePrefix(key)).rejects.toBeInstanceOf(StorageKeyError);
  });

  it('refuses a key that escapes through a symlink inside the root', async () => {
    const outside = join(dir, 'outside');
    await mkdir(outside, { recursive: true });
    await writeFile(join(outside, 'secret.txt'), 'secret');
    await symlink(outside, join(dir, 'root', 'linked'));
    await expect(storage.localPath('linked/secret.txt')).rejects.toThrow(/outside the storage root/);
    await expect(storage.put('linked/planted.txt', src)).rejects.toBeInstanceOf(StorageKeyError);
  });
});
