/** Pure key validation and key -> path mapping, the first line of defence against path escapes. */
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { StorageKey } from '@clipmaker/shared/render-spec';
import { StorageKeyError } from './storage.ts';

export function assertStorageKey(key: unknown): string {
  const parsed = StorageKey.safeParse(key);
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => i.message).join('; ');
    throw new StorageKeyError(`invalid storage key ${JSON.stringify(key)}: ${why}`);
  }
  return parsed.data;
}

/** Resolves a validated key under `root` and refuses anything that would land outside it. */
export function keyToPath(root: string, key: unknown): string {
  const valid = assertStorageKey(key);
  const absRoot = resolve(root);
  const path = resolve(absRoot, valid);
  const rel = relative(absRoot, path);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel) || !path.startsWith(absRoot + sep)) {
    throw new StorageKeyError(`storage key ${JSON.stringify(key)} resolves outside the storage root`);
  }
  return path;
}
