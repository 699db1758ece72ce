/**
 * Lint: no hand-written cryptographic primitives in our sources. Hashes, MACs, checksums and request
 * signing come from maintained libraries (@oslojs/crypto, WebCrypto, node:crypto, the AWS SDK). This
 * test fails when a file carries the fingerprints of a home-made one: the round/initial constants of
 * SHA-1/SHA-2/MD5, CRC-32 polynomials, the AES S-box, ChaCha/Salsa's "expand 32-byte k", a 32-bit
 * rotate written out by hand, or AWS Signature V4 key derivation.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const FOLDERS = ['app/src', 'app/test', 'shared', 'render-farm/src', 'render-farm/test', 'render-farm/bench', 'collab-server', 'scripts', 'drizzle', 'tests'];
const SKIP_DIRS = new Set(['node_modules', '.svelte-kit', 'build', 'dist', '.data']);
const EXT = /\.(?:ts|js|mjs|cjs|svelte)$/;
const SELF = relative(ROOT, import.meta.filename);

/** Written in pieces so that this file does not match itself. */
const hex = (...parts: string[]) => new RegExp(`0x${parts.join('')}`, 'i');
export const FINGERPRINTS: { name: string; pattern: RegExp }[] = [
  { name: 'SHA-256/224 round constant', pattern: hex('428a', '2f98') },
  { name: 'SHA-256 initial hash value', pattern: hex('6a09', 'e667') },
  { name: 'SHA-224 initial hash value', pattern: hex('c105', '9ed8') },
  { name: 'SHA-1/MD5 initial hash value', pattern: hex('6745', '2301') },
  { name: 'SHA-1 round constant', pattern: hex('5a82', '7999') },
  { name: 'MD5 round constant', pattern: hex('d76a', 'a478') },
  { name: 'CRC-32 polynomial', pattern: new RegExp(`${hex('edb8', '8320').source}|${hex('04c1', '1db7').source}`, 'i') },
  { name: 'CRC-32C polynomial', pattern: hex('82f6', '3b78') },
  { name: 'AES S-box', pattern: new RegExp(['0x63', '0x7c', '0x77', '0x7b'].join(',\\s*'), 'i') },
  { name: 'ChaCha/Salsa constant', pattern: new RegExp(['expand', '32-byte', 'k'].join(' ')) },
  { name: 'hand-written 32-bit rotate', pattern: /\(\s*\w+\s*>>>\s*\w+\s*\)\s*\|\s*\(\s*\w+\s*<<\s*\(\s*32\s*-/ },
  { name: 'hand-written SigV4 key derivation', pattern: new RegExp(['`AWS4', '\\$\\{'].join('')) },
];

function sourceFiles(dir: string, out: string[] = []): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    if (SKIP_DIRS.has(name)) continue;
    const full = join(dir, name);
    const st = statSync(full);
    if (st.isDirectory()) sourceFiles(full, out);
    else if (EXT.test(name) && st.size < 2_000_000) out.push(full);
  }
  return out;
}

export function findPrimitives(text: string): string[] {
  return FINGERPRINTS.filter((f) => f.pattern.test(text)).map((f) => f.name);
}

describe('no hand-written crypto primitives', () => {
  it('recognises each fingerprint (the old hand-written SHA-256 and SigV4 would fail this lint)', () => {
    const oldSha = `const K = Uint32Array.from([${['0x428a', '2f98'].join('')}]); const rotr = (x: number, n: number) => (x >>> n) | (x << (32 - n));`;
    expect(findPrimitives(oldSha)).toEqual(['SHA-256/224 round constant', 'hand-written 32-bit rotate']);
    expect(findPrimitives(['const kDate = hmac(`AWS4', '${secret}`, day);'].join(''))).toEqual(['hand-written SigV4 key derivation']);
    expect(findPrimitives(`table[i] = c & 1 ? ${['0xEDB8', '8320'].join('')} ^ (c >>> 1) : c >>> 1;`)).toEqual(['CRC-32 polynomial']);
    expect(findPrimitives("import { sha256 } from '@oslojs/crypto/sha2'; createHash('sha256')")).toEqual([]);
  });

  it('finds none in the repository sources', () => {
    const files = FOLDERS.flatMap((f) => sourceFiles(join(ROOT, f)));
    expect(files.length).toBeGreaterThan(100);
    const hits = files
      .filter((f) => relative(ROOT, f) !== SELF)
      .flatMap((f) => findPrimitives(readFileSync(f, 'utf8')).map((what) => `${relative(ROOT, f)}: ${what}`));
    expect(hits).toEqual([]);
  });
});
