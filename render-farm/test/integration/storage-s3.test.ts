/**
 * The farm's S3 driver (AWS SDK) against a local S3-compatible server process that verifies every
 * request's Signature V4 with an independent implementation (aws4), every signed payload hash and
 * every CRC32 checksum, then stores through s3rver (tests/support/s3-verifying-server.ts).
 * Covered: put/get/stat/exists/localPath/delete/list/listObjects/touch/deletePrefix, multipart uploads (lib-storage),
 * path-style and virtual-hosted URLs, HTTP and HTTPS, retries on 503, wrong keys, tampered requests
 * and bodies.
 * Not covered: AWS, MinIO, R2 or Yandex themselves (no network here), presigned URLs, SSE.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import aws4 from 'aws4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3ConfigFromEnv } from '@clipmaker/shared/storage';
import { S3Error, S3Storage, type S3Options } from '../../src/storage/s3.ts';
import { StorageNotFoundError } from '../../src/storage/index.ts';
import { startS3TestServer, type S3TestServer } from '../../../tests/support/s3-process.ts';

let dir: string;
let server: S3TestServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cm-s3-'));
  server = await startS3TestServer();
});
afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

const options = (over: Partial<S3Options> = {}): S3Options => ({ ...s3ConfigFromEnv({ ...server.env, S3_KEY_PREFIX: 'farm' })!, tempDir: dir, ...over });

describe('S3Storage (AWS SDK) against a signature-verifying S3 server process', () => {
  it('round-trips small and multipart objects, lists and deletes a prefix; every request verified', async () => {
    const before = await server.stats();
    const s = new S3Storage(options());
    const small = join(dir, 'small.bin');
    const large = join(dir, 'large.bin');
    const smallBytes = randomBytes(300_000);
    const largeBytes = randomBytes(20 * 1024 * 1024 + 12_345); // 3 parts of 8 MiB
    await writeFile(small, smallBytes);
    await writeFile(large, largeBytes);
    await s.put('renders/r1/output.mp4', large, { contentType: 'video/mp4' });
    await s.put('renders/r1/poster.jpg', small);
    await s.put('renders/r10/output.mp4', small);
    expect(await s.exists('renders/r1/output.mp4')).toBe(true);
    expect((await s.stat('renders/r1/output.mp4'))?.size).toBe(largeBytes.length);
    expect(await s.stat('renders/r1/missing.mp4')).toBeNull();
    await s.get('renders/r1/output.mp4', join(dir, 'out', 'copy.bin'));
    expect((await readFile(join(dir, 'out', 'copy.bin'))).equals(largeBytes)).toBe(true);
    const local = await s.localPath('renders/r1/poster.jpg');
    expect((await readFile(local.path)).equals(smallBytes)).toBe(true);
    await local.release();
    await expect(s.localPath('renders/r1/nope')).rejects.toBeInstanceOf(StorageNotFoundError);
    await expect(s.get('renders/r1/nope', join(dir, 'x'))).rejects.toBeInstanceOf(StorageNotFoundError);
    expect((await s.list('renders/r1')).sort()).toEqual(['renders/r1/output.mp4', 'renders/r1/poster.jpg']);
    expect(await s.deletePrefix('renders/r1')).toBe(2);
    expect(await s.exists('renders/r1/output.mp4')).toBe(false);
    expect(await s.exists('renders/r10/output.mp4')).toBe(true); // a sibling prefix is untouched
    await s.delete('renders/r10/output.mp4');
    await s.delete('renders/r10/output.mp4'); // deleting a missing object is fine

    const after = await server.stats();
    expect(after.rejected).toEqual(before.rejected);
    expect(after.verified - before.verified).toBe(after.requests - before.requests);
    expect(after.multipartParts - before.multipartParts).toBe(3);
    // CRC32 on every upload body (3 parts + 2 single puts) and on the multi-object delete.
    expect(after.checksums - before.checksums).toBeGreaterThanOrEqual(6);
  });

  it('the chunk cache clock: listObjects gives sizes and times; touch (a signed copy onto itself) keeps the bytes', async () => {
    // AWS S3 and MinIO give the copy a new LastModified; this test server keeps the old file time, so
    // only the request itself and the object's survival are checked here (local disk: chunk-cache.test.ts).
    const before = await server.stats();
    const s = new S3Storage(options());
    const file = join(dir, 'chunk.bin');
    const bytes = randomBytes(5000);
    await writeFile(file, bytes);
    await s.put('chunks/x.mp4', file, { contentType: 'video/mp4' });
    const [listed] = await s.listObjects('chunks');
    expect(listed).toMatchObject({ key: 'chunks/x.mp4', size: 5000 });
    expect(listed!.modifiedAt.getTime()).toBeGreaterThan(Date.now() - 60_000);
    await s.touch('chunks/x.mp4');
    await s.touch('chunks/missing.mp4'); // a piece evicted meanwhile: not an error
    await s.get('chunks/x.mp4', join(dir, 'chunk-back.bin'));
    expect((await readFile(join(dir, 'chunk-back.bin'))).equals(bytes)).toBe(true);
    expect((await s.listObjects('chunks')).map((o) => o.key)).toEqual(['chunks/x.mp4']);
    await s.deletePrefix('chunks');
    const after = await server.stats();
    expect(after.rejected).toEqual(before.rejected);
  });

  it('virtual-hosted URLs (bucket.host) work against a custom endpoint', async () => {
    const port = new URL(server.endpoint).port;
    // Any *.s3.test name resolves to this machine, as DNS would for a real virtual-hosted endpoint.
    const lookup = ((_host: string, o: { all?: boolean }, cb: (...a: unknown[]) => void) => (o.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4))) as never;
    const s = new S3Storage(options({ endpoint: `http://s3.test:${port}`, forcePathStyle: false, client: { requestHandler: { httpAgent: new Agent({ lookup } as never) } } }));
    const before = await server.stats();
    const file = join(dir, 'vh.bin');
    await writeFile(file, 'virtual hosted');
    await s.put('renders/vh/output.mp4', file);
    expect((await s.stat('renders/vh/output.mp4'))?.size).toBe(14);
    expect(await s.deletePrefix('renders/vh')).toBe(1);
    const after = await server.stats();
    expect(after.virtualHosted - before.virtualHosted).toBeGreaterThanOrEqual(4);
    expect(after.rejected).toEqual(before.rejected);
  });

  it('over HTTPS (self-signed test certificate) every request, payload hash and CRC32 is verified too', async (ctx) => {
    if (!server.tls) return ctx.skip(); // no openssl for the test certificate
    const s = new S3Storage(options({ endpoint: server.tls.endpoint, client: { requestHandler: { httpsAgent: new HttpsAgent({ ca: server.tls.cert }) } } }));
    const before = await server.stats();
    const bytes = randomBytes(9 * 1024 * 1024 + 7); // two parts
    const file = join(dir, 'tls.bin');
    await writeFile(file, bytes);
    await s.put('renders/tls/output.mp4', file);
    await writeFile(join(dir, 'tls-small.bin'), 'small over TLS');
    await s.put('renders/tls/poster.jpg', join(dir, 'tls-small.bin'));
    await s.get('renders/tls/output.mp4', join(dir, 'tls-copy.bin'));
    expect((await readFile(join(dir, 'tls-copy.bin'))).equals(bytes)).toBe(true);
    expect(await s.deletePrefix('renders/tls')).toBe(2);
    const after = await server.stats();
    expect(after.rejected).toEqual(before.rejected);
    // lib-storage buffers each part, so even over TLS the SDK signs every body's SHA-256 (checked) and sends its CRC32 (checked).
    expect((after.payload['signed-sha256'] ?? 0) - (before.payload['signed-sha256'] ?? 0)).toBe(after.requests - before.requests);
    expect(after.checksums - before.checksums).toBeGreaterThanOrEqual(4);
  });

  it('retries through 503 SlowDown (SDK standard retry mode) and gives up after S3_MAX_ATTEMPTS', async () => {
    const s = new S3Storage(options({ maxAttempts: 3 }));
    const file = join(dir, 'retry.bin');
    await writeFile(file, 'retry me');
    await server.failNext(2);
    await s.put('renders/retry/output.mp4', file);
    expect(await s.exists('renders/retry/output.mp4')).toBe(true);
    await server.failNext(3);
    const err = await s.stat('renders/retry/output.mp4').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(S3Error);
    expect((err as S3Error).status).toBe(503);
    await server.failNext(0);
  });

  it('a wrong secret or an unknown key is refused by the server', async () => {
    const file = join(dir, 'x.bin');
    await writeFile(file, 'x');
    const wrongSecret = new S3Storage(options({ credentials: { accessKeyId: server.accessKeyId, secretAccessKey: 'wrong' }, maxAttempts: 1 }));
    await expect(wrongSecret.put('renders/x/output.mp4', file)).rejects.toMatchObject({ code: 'SignatureDoesNotMatch', status: 403 });
    const unknown = new S3Storage(options({ credentials: { accessKeyId: 'NOBODY', secretAccessKey: 'wrong' }, maxAttempts: 1 }));
    await expect(unknown.list('renders')).rejects.toMatchObject({ code: 'InvalidAccessKeyId' });
  });

  it('the server really checks: a replayed signature on another key, a swapped body, a bad CRC32 are refused', async () => {
    const host = new URL(server.endpoint).host;
    const creds = { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey };
    const sign = (method: string, p: string, headers: Record<string, string>) => aws4.sign({ host, method, path: p, service: 's3', region: 'us-east-1', headers }, creds) as { headers: Record<string, string> };
    const code = async (r: Response) => /<Code>([^<]+)<\/Code>/.exec(await r.text())?.[1];
    const empty = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

    // A correctly signed GET is accepted (404: no such object) …
    const signed = sign('GET', `/${server.bucket}/farm/a.txt`, { 'x-amz-content-sha256': empty });
    const ok = await fetch(`${server.endpoint}/${server.bucket}/farm/a.txt`, { headers: signed.headers });
    expect(ok.status).toBe(404);
    // … the same headers on another key are not.
    const replay = await fetch(`${server.endpoint}/${server.bucket}/farm/b.txt`, { headers: signed.headers });
    expect([replay.status, await code(replay)]).toEqual([403, 'SignatureDoesNotMatch']);

    // A body that does not hash to the signed x-amz-content-sha256.
    const body = 'the real body';
    const sha = (await import('node:crypto')).createHash('sha256').update(body).digest('hex');
    const put = sign('PUT', `/${server.bucket}/farm/c.txt`, { 'x-amz-content-sha256': sha, 'content-length': String(body.length) });
    const swapped = await fetch(`${server.endpoint}/${server.bucket}/farm/c.txt`, { method: 'PUT', headers: put.headers, body: 'a forged body' });
    expect([swapped.status, await code(swapped)]).toEqual([400, 'XAmzContentSHA256Mismatch']);

    // An aws-chunked upload whose trailing CRC32 does not match its data.
    const chunked = `d\r\nthe real body\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n`;
    const stream = sign('PUT', `/${server.bucket}/farm/d.txt`, {
      'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      'content-encoding': 'aws-chunked',
      'x-amz-decoded-content-length': '13',
      'x-amz-trailer': 'x-amz-checksum-crc32',
      'content-length': String(chunked.length),
    });
    const corrupt = await fetch(`${server.endpoint}/${server.bucket}/farm/d.txt`, { method: 'PUT', headers: stream.headers, body: chunked });
    expect([corrupt.status, await code(corrupt)]).toEqual([400, 'BadDigest']);
  });
});
