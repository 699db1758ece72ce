/**
 * The S3 driver against a live S3-compatible server (s3rver): put/get/stat/exists/localPath/delete/
 * deletePrefix over real HTTP. Limit: s3rver 3.7 parses SigV4 headers and checks the access key but
 * does not verify V4 signatures; the signing itself is proven by AWS's published vectors in
 * src/storage/s3.test.ts. Untested against AWS/MinIO proper.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Error, S3Storage } from '../../src/storage/s3.ts';
import { StorageNotFoundError } from '../../src/storage/index.ts';

let dir: string;
let server: S3rver;
let endpoint: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cm-s3-'));
  server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: join(dir, 's3'), configureBuckets: [{ name: 'media', configs: [] }] });
  const addr = (await server.run()) as { address: string; port: number };
  endpoint = `http://127.0.0.1:${addr.port}`;
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const storage = () => new S3Storage({ endpoint, region: 'us-east-1', bucket: 'media', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', keyPrefix: 'farm', tempDir: dir });

describe('S3Storage (live s3rver)', () => {
  it('round-trips objects, lists and deletes a prefix', async () => {
    const s = storage();
    const src = join(dir, 'in.bin');
    const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
    await writeFile(src, bytes);
    await s.put('renders/r1/output.mp4', src, { contentType: 'video/mp4' });
    await s.put('renders/r1/poster.jpg', src);
    await s.put('renders/r10/output.mp4', src);
    expect(await s.exists('renders/r1/output.mp4')).toBe(true);
    expect((await s.stat('renders/r1/output.mp4'))?.size).toBe(bytes.length);
    expect(await s.stat('renders/r1/missing.mp4')).toBeNull();
    await s.get('renders/r1/output.mp4', join(dir, 'out', 'copy.bin'));
    expect((await readFile(join(dir, 'out', 'copy.bin'))).equals(bytes)).toBe(true);
    const local = await s.localPath('renders/r1/poster.jpg');
    expect((await readFile(local.path)).length).toBe(bytes.length);
    await local.release();
    await expect(s.localPath('renders/r1/nope')).rejects.toBeInstanceOf(StorageNotFoundError);
    expect((await s.list('renders/r1')).sort()).toEqual(['renders/r1/output.mp4', 'renders/r1/poster.jpg']);
    expect(await s.deletePrefix('renders/r1')).toBe(2);
    expect(await s.exists('renders/r1/output.mp4')).toBe(false);
    expect(await s.exists('renders/r10/output.mp4')).toBe(true); // a sibling prefix is untouched
    await s.delete('renders/r10/output.mp4');
    await s.delete('renders/r10/output.mp4'); // deleting a missing object is fine
  });

  it('an unknown access key is refused with the server error code', async () => {
    const bad = new S3Storage({ endpoint, region: 'us-east-1', bucket: 'media', accessKeyId: 'NOBODY', secretAccessKey: 'wrong', tempDir: dir });
    await writeFile(join(dir, 'x.bin'), 'x');
    await expect(bad.put('renders/x/output.mp4', join(dir, 'x.bin'))).rejects.toThrow(/HTTP 403 InvalidAccessKeyId/);
    await expect(bad.list('renders')).rejects.toBeInstanceOf(S3Error);
  });
});
