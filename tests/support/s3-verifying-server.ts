/**
 * A local S3-compatible server that really checks what clients send, for integration tests of our
 * S3 drivers (render farm and app). s3rver (npm) stores objects and speaks the S3 REST API, but it
 * accepts any Signature V4 from a known access key; so a verifying front sits before it and, for
 * every request:
 *  - recomputes the AWS Signature V4 of the Authorization header with `aws4` (an implementation
 *    independent of the AWS SDK's @smithy/signature-v4) over exactly the headers the client says it
 *    signed, and refuses a mismatch (403 SignatureDoesNotMatch), an unknown key (403
 *    InvalidAccessKeyId) or a request time more than 15 minutes off (403 RequestTimeTooSkewed);
 *  - checks the payload: a hex x-amz-content-sha256 against the SHA-256 of the body (400
 *    XAmzContentSHA256Mismatch); aws-chunked bodies (STREAMING-UNSIGNED-PAYLOAD-TRAILER) are decoded
 *    and their trailing x-amz-checksum-crc32 verified; x-amz-checksum-crc32 and Content-MD5 headers
 *    too (400 BadDigest);
 *  - forwards the decoded request to s3rver (virtual-hosted requests rewritten to path style).
 * GET /__verifier/stats reports what was checked; POST /__verifier/fail?count=N makes the next N
 * S3 requests fail with 503 SlowDown (to prove client retries).
 *
 * The same server listens over HTTPS too (a throw-away self-signed certificate from openssl).
 * Run it as its own process: `tsx tests/support/s3-verifying-server.ts` prints one JSON line
 * {"endpoint", "accessKeyId", "secretAccessKey", "bucket"} and serves until stdin closes or SIGTERM.
 */
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import aws4 from 'aws4';
import S3rver from 's3rver';
import type { VerifierStats } from './s3-process.ts';


interface Options {
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
}

const S3RVER_KEY = 'S3RVER';

function s3Error(res: http.ServerResponse, status: number, code: string, message: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const crc32Base64 = (data: Buffer) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(crc32(data) >>> 0);
  return b.toString('base64');
};

/** aws-chunked: `<hex size>[;chunk-signature=…]\r\n<data>\r\n` … `0\r\n<trailers>\r\n\r\n`. */
function decodeAwsChunked(body: Buffer): { data: Buffer; trailers: Record<string, string>; signedChunks: boolean } {
  const parts: Buffer[] = [];
  const trailers: Record<string, string> = {};
  let pos = 0;
  let signedChunks = false;
  for (;;) {
    const eol = body.indexOf('\r\n', pos);
    if (eol < 0) throw new Error('truncated aws-chunked body');
    const header = body.subarray(pos, eol).toString('latin1');
    if (header.includes(';chunk-signature=')) signedChunks = true;
    const size = parseInt(header.split(';')[0]!, 16);
    if (!Number.isFinite(size)) throw new Error(`bad chunk header ${header}`);
    pos = eol + 2;
    if (size === 0) break;
    parts.push(body.subarray(pos, pos + size));
    pos += size + 2;
  }
  for (const line of body.subarray(pos).toString('latin1').split('\r\n')) {
    const idx = line.indexOf(':');
    if (idx > 0) trailers[line.slice(0, idx).trim().toLowerCase()] = line.slice(idx + 1).trim();
  }
  return { data: Buffer.concat(parts), trailers, signedChunks };
}

/** The Signature V4 `aws4` computes for this request over the headers the client signed. */
function expectedSignature(req: http.IncomingMessage, auth: { credential: string[]; signedHeaders: string[] }, secretAccessKey: string): string {
  const headers: Record<string, string> = {};
  const include: Record<string, boolean> = {};
  for (const name of auth.signedHeaders) {
    const v = req.headers[name];
    headers[name] = Array.isArray(v) ? v.join(',') : (v ?? '');
    include[name] = true;
  }
  const [, , region, service] = auth.credential;
  const signer = new aws4.RequestSigner(
    { host: req.headers.host, method: req.method, path: req.url, headers, service, region, extraHeadersToInclude: include } as never,
    { accessKeyId: auth.credential[0]!, secretAccessKey },
  );
  (signer as unknown as { datetime: string }).datetime = String(req.headers['x-amz-date'] ?? '');
  return signer.signature();
}

function parseAuthorization(value: string | undefined): { credential: string[]; signedHeaders: string[]; signature: string } | null {
  const m = /^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/.exec(value ?? '');
  if (!m) return null;
  return { credential: m[1]!.split('/'), signedHeaders: m[2]!.split(';'), signature: m[3]! };
}

/** A throw-away self-signed certificate for 127.0.0.1, localhost and *.s3.test (null without openssl). */
function selfSignedCert(dir: string): { key: string; cert: string } | null {
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1,DNS:s3.test,DNS:*.s3.test', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
  if (r.status !== 0) return null;
  return { key: readFileSync(path.join(dir, 'key.pem'), 'utf8'), cert: readFileSync(path.join(dir, 'cert.pem'), 'utf8') };
}

export async function startVerifyingS3(opts: Options): Promise<{ endpoint: string; tls: { endpoint: string; cert: string } | null; stats: VerifierStats; stop(): Promise<void> }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'cm-s3v-'));
  const backend = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: [{ name: opts.bucket, configs: [] }] });
  const backendAddr = (await backend.run()) as { port: number };
  const stats: VerifierStats = { requests: 0, verified: 0, rejected: {}, payload: {}, checksums: 0, multipartParts: 0, virtualHosted: 0, injectedFailures: 0 };
  let failNext = 0;
  const reject = (res: http.ServerResponse, status: number, code: string, message: string) => {
    stats.rejected[code] = (stats.rejected[code] ?? 0) + 1;
    s3Error(res, status, code, message);
  };

  const handler: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://x');
        if (url.pathname === '/__verifier/stats') {
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.end(JSON.stringify(stats));
        }
        if (url.pathname === '/__verifier/fail') {
          failNext = Number(url.searchParams.get('count') ?? 1);
          res.writeHead(204);
          return res.end();
        }
        stats.requests++;
        if (failNext > 0) {
          failNext--;
          stats.injectedFailures++;
          return s3Error(res, 503, 'SlowDown', 'Please reduce your request rate (injected by the test server).');
        }
        const auth = parseAuthorization(req.headers.authorization);
        if (!auth) return reject(res, 403, 'AccessDenied', 'Signature V4 Authorization header required.');
        if (auth.credential[0] !== opts.accessKeyId) return reject(res, 403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
        const amzDate = String(req.headers['x-amz-date'] ?? '');
        const when = Date.parse(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
        if (!Number.isFinite(when) || Math.abs(Date.now() - when) > 15 * 60_000) return reject(res, 403, 'RequestTimeTooSkewed', 'The difference between the request time and the server time is too large.');
        if (auth.credential[1] !== amzDate.slice(0, 8) || auth.credential[3] !== 's3' || auth.credential[4] !== 'aws4_request') return reject(res, 403, 'AuthorizationHeaderMalformed', 'Bad credential scope.');
        if (!auth.signedHeaders.includes('host') || !auth.signedHeaders.includes('x-amz-content-sha256')) return reject(res, 403, 'AccessDenied', 'host and x-amz-content-sha256 must be signed.');
        if (expectedSignature(req, auth, opts.secretAccessKey) !== auth.signature) return reject(res, 403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');

        let body: Buffer<ArrayBufferLike> = Buffer.concat(chunks);
        const payload = String(req.headers['x-amz-content-sha256']);
        const forwardHeaders: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) forwardHeaders[k] = Array.isArray(v) ? v.join(',') : v;
        if (/^[0-9a-f]{64}$/.test(payload)) {
          if (createHash('sha256').update(body).digest('hex') !== payload) return reject(res, 400, 'XAmzContentSHA256Mismatch', 'The provided x-amz-content-sha256 header does not match what was computed.');
          stats.payload['signed-sha256'] = (stats.payload['signed-sha256'] ?? 0) + 1;
        } else if (payload === 'UNSIGNED-PAYLOAD' || payload === 'STREAMING-UNSIGNED-PAYLOAD-TRAILER') {
          stats.payload[payload] = (stats.payload[payload] ?? 0) + 1;
          if (payload === 'STREAMING-UNSIGNED-PAYLOAD-TRAILER') {
            let decoded;
            try {
              decoded = decodeAwsChunked(body);
            } catch (err) {
              return reject(res, 400, 'IncompleteBody', (err as Error).message);
            }
            if (decoded.signedChunks) return reject(res, 400, 'InvalidRequest', 'unexpected chunk signatures in an unsigned stream');
            const declared = Number(req.headers['x-amz-decoded-content-length']);
            if (Number.isFinite(declared) && declared !== decoded.data.length) return reject(res, 400, 'IncompleteBody', 'x-amz-decoded-content-length does not match the body');
            body = decoded.data;
            const expected = decoded.trailers['x-amz-checksum-crc32'];
            if (!expected) return reject(res, 400, 'InvalidRequest', `no trailing checksum (trailers: ${Object.keys(decoded.trailers).join(', ') || 'none'})`);
            if (expected !== crc32Base64(body)) return reject(res, 400, 'BadDigest', 'The CRC32 you specified did not match the calculated checksum.');
            stats.checksums++;
            for (const h of ['content-encoding', 'x-amz-decoded-content-length', 'x-amz-trailer', 'transfer-encoding']) delete forwardHeaders[h];
          }
        } else {
          return reject(res, 400, 'NotImplemented', `payload mode ${payload} is not checked by this test server`);
        }
        if (req.headers['x-amz-checksum-crc32']) {
          if (req.headers['x-amz-checksum-crc32'] !== crc32Base64(body)) return reject(res, 400, 'BadDigest', 'The CRC32 you specified did not match the calculated checksum.');
          stats.checksums++;
        }
        if (req.headers['content-md5']) {
          if (req.headers['content-md5'] !== createHash('md5').update(body).digest('base64')) return reject(res, 400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
          stats.checksums++;
        }
        if (url.searchParams.has('partNumber')) stats.multipartParts++;
        stats.verified++;

        // Path style for s3rver; its V4 check only needs a known access key.
        const host = String(req.headers.host ?? '');
        const vhost = host.startsWith(`${opts.bucket}.`);
        if (vhost) stats.virtualHosted++;
        const forwardPath = vhost ? `/${opts.bucket}${req.url === '/' ? '' : req.url}` : req.url!;
        forwardHeaders.host = `127.0.0.1:${backendAddr.port}`;
        forwardHeaders['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
        forwardHeaders['content-length'] = String(body.length);
        forwardHeaders.authorization = req.headers.authorization!.replace(/Credential=[^/]+\//, `Credential=${S3RVER_KEY}/`);
        const upstream = http.request({ host: '127.0.0.1', port: backendAddr.port, method: req.method, path: forwardPath, headers: forwardHeaders }, (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        });
        upstream.on('error', (err) => s3Error(res, 502, 'InternalError', err.message));
        upstream.end(body);
      })();
    });
  };
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  // The same checks over HTTPS, where the SDK streams uploads as aws-chunked with a trailing CRC32.
  const cert = selfSignedCert(dir);
  const tlsServer = cert ? https.createServer({ key: cert.key, cert: cert.cert }, handler) : null;
  if (tlsServer) await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${port}`,
    tls: tlsServer && cert ? { endpoint: `https://localhost:${(tlsServer.address() as { port: number }).port}`, cert: cert.cert } : null,
    stats,
    async stop() {
      if (tlsServer) await new Promise<void>((resolve) => tlsServer.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const opts = { accessKeyId: `AKCM${randomBytes(6).toString('hex').toUpperCase()}`, secretAccessKey: randomBytes(24).toString('base64'), bucket: 'clipmaker-test' };
  const running = await startVerifyingS3(opts);
  process.stdout.write(`${JSON.stringify({ endpoint: running.endpoint, tls: running.tls, ...opts })}\n`);
  const stop = () => void running.stop().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.resume();
}
