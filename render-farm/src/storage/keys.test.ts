import { describe, expect, it } from 'vitest';
import { keyToPath } from './keys.ts';
import { StorageKeyError } from './storage.ts';

describe('keyToPath', () => {
  it('maps a key under the root', () => {
    expect(keyToPath('/srv/storage', 'renders/abc/output.mp4')).toBe('/srv/storage/renders/abc/output.mp4');
  });
  it.each([
    '../etc/passwd',
    'a/../../etc/passwd',
    '/etc/passwd',
    'a//b',
    './a',
    'a/',
    'A.mp4',
    'a\\..\\b',
    '',
    'a/b\0c',
  ])('refuses %j', (key) => {
    expect(() => keyToPath('/srv/storage', key)).toThrow(StorageKeyError);
  });
  it('refuses non-strings', () => {
    expect(() => keyToPath('/srv/storage', 42)).toThrow(/invalid storage key/);
  });
});
