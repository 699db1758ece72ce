/**
 * S3-compatible storage over the plain S3 REST API with AWS Signature Version 4 (no SDK): PUT and
 * GET stream the file (UNSIGNED-PAYLOAD), HEAD for exists/stat, ListObjectsV2 + DELETE for
 * deletePrefix. Path-style URLs (`${endpoint}/${bucket}/${key}`) by default, which MinIO, Ceph,
 * R2 and s3rver accept; `virtualHosted: true` for AWS-style bucket subdomains.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, stat as fsStat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertStorageKey } from './keys.ts';
import { StorageNotFoundError, type LocalFile, type Storage, type StorageStat } from './storage.ts';

export interface S3Options {
  /** e.g. https://s3.eu-west-1.amazonaws.com or http://127.0.0.1:9000 */
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Prepended to every key (no trailing slash), e.g. "clipmaker". */
  keyPrefix?: string;
  virtualHosted?: boolean;
  /** Where localPath() downloads to (default os.tmpdir()). */
  tempDir?: string;
}

export interface SigningInput {
  method: string;
  url: URL;
  /** Lower-case names; `host` and `x-amz-date` must be present. */
  headers: Record<string, string>;
  payloadHash: string;
  region: string;
  service: string;
  accessKeyId: string;
  secretAccessKey: string;
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

/** RFC 3986 encoding as SigV4 wants it (slashes kept in paths). */
export function uriEncode(value: string, keepSlash: boolean): string {
  return encodeURIComponent(value)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%2F/g, keepSlash ? '/' : '%2F');
}

/** The Authorization header value for a request (AWS Signature Version 4). */
export function signV4(i: SigningInput): string {
  const amzDate = i.headers['x-amz-date']!;
  const day = amzDate.slice(0, 8);
  const names = Object.keys(i.headers).map((h) => h.toLowerCase()).sort();
  const canonicalHeaders = names.map((h) => `${h}:${String(i.headers[h]).trim().replace(/\s+/g, ' ')}\n`).join('');
  const signedHeaders = names.join(';');
  const query = [...i.url.searchParams.entries()]
    .map(([k, v]) => [uriEncode(k, false), uriEncode(v, false)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalRequest = [i.method, i.url.pathname || '/', query, canonicalHeaders, signedHeaders, i.payloadHash].join('\n');
  const scope = `${day}/${i.region}/${i.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const kDate = hmac(`AWS4${i.secretAccessKey}`, day);
  const kSigning = hmac(hmac(hmac(kDate, i.region), i.service), 'aws4_request');
  const signature = createHmac('sha256', kSigning).update(stringToSign).digest('hex');
  return `AWS4-HMAC-SHA256 Credential=${i.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
}

export class S3Error extends Error {
  override name = 'S3Error';
}

export class S3Storage implements Storage {
  readonly driver = 's3';

  constructor(private readonly o: S3Options) {}

  private url(key: string | null, query: Record<string, string> = {}): URL {
    const base = new URL(this.o.endpoint);
    const objectPath = key === null ? '' : `/${uriEncode(this.fullKey(key), true)}`;
    const url = this.o.virtualHosted ? new URL(`${base.protocol}//${this.o.bucket}.${base.host}${objectPath || '/'}`) : new URL(`${base.protocol}//${base.host}/${this.o.bucket}${objectPath}`);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    return url;
  }

  private fullKey(key: string): string {
    return this.o.keyPrefix ? `${this.o.keyPrefix}/${key}` : key;
  }

  private async request(method: string, url: URL, init: { body?: ReadableStream | Buffer; headers?: Record<string, string> } = {}): Promise<Response> {
    const amzDate = new Date().toISOString().replace(/[:-]|\.\d{3}/g, '');
    const payloadHash = init.body === undefined ? sha256('') : 'UNSIGNED-PAYLOAD';
    const headers: Record<string, string> = { host: url.host, 'x-amz-date': amzDate, 'x-amz-content-sha256': payloadHash, ...init.headers };
    headers.authorization = signV4({ method, url, headers, payloadHash, region: this.o.region, service: 's3', accessKeyId: this.o.accessKeyId, secretAccessKey: this.o.secretAccessKey });
    delete headers.host; // fetch sets it
    return fetch(url, { method, headers, body: init.body as BodyInit | undefined, duplex: 'half' } as RequestInit);
  }

  private async fail(res: Response, what: string): Promise<never> {
    const body = await res.text().catch(() => '');
    const code = /<Code>([^<]+)<\/Code>/.exec(body)?.[1];
    throw new S3Error(`s3 ${what}: HTTP ${res.status}${code ? ` ${code}` : ''}`);
  }

  async put(key: string, fromFile: string, opts: { contentType?: string } = {}): Promise<void> {
    assertStorageKey(key);
    const size = (await fsStat(fromFile)).size;
    const body = Readable.toWeb(createReadStream(fromFile)) as ReadableStream;
    const res = await this.request('PUT', this.url(key), { body, headers: { 'content-length': String(size), 'content-type': opts.contentType ?? 'application/octet-stream' } });
    if (!res.ok) await this.fail(res, `put ${key}`);
    await res.arrayBuffer();
  }

  async get(key: string, toFile: string): Promise<void> {
    assertStorageKey(key);
    const res = await this.request('GET', this.url(key));
    if (res.status === 404) {
      await res.arrayBuffer().catch(() => {});
      throw new StorageNotFoundError(key);
    }
    if (!res.ok || !res.body) await this.fail(res, `get ${key}`);
    await mkdir(dirname(toFile), { recursive: true });
    const tmp = `${toFile}.${randomBytes(4).toString('hex')}.part`;
    try {
      await pipeline(Readable.fromWeb(res.body as never), createWriteStream(tmp));
      await rename(tmp, toFile);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async localPath(key: string): Promise<LocalFile> {
    const folder = await mkdtemp(join(this.o.tempDir ?? tmpdir(), 'clipmaker-s3-'));
    const path = join(folder, key.split('/').pop()!);
    try {
      await this.get(key, path);
    } catch (err) {
      await rm(folder, { recursive: true, force: true });
      throw err;
    }
    return { path, release: () => rm(folder, { recursive: true, force: true }) };
  }

  async stat(key: string): Promise<StorageStat | null> {
    assertStorageKey(key);
    const res = await this.request('HEAD', this.url(key));
    if (res.status === 404) return null;
    if (!res.ok) await this.fail(res, `head ${key}`);
    return { size: Number(res.headers.get('content-length') ?? 0), modifiedAt: new Date(res.headers.get('last-modified') ?? Date.now()) };
  }

  async exists(key: string): Promise<boolean> {
    return (await this.stat(key)) !== null;
  }

  async delete(key: string): Promise<void> {
    assertStorageKey(key);
    const res = await this.request('DELETE', this.url(key));
    if (!res.ok && res.status !== 404) await this.fail(res, `delete ${key}`);
    await res.arrayBuffer().catch(() => {});
  }

  /** Keys (without keyPrefix) listed under `prefix/`, all pages. */
  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | null = null;
    const strip = this.o.keyPrefix ? this.o.keyPrefix.length + 1 : 0;
    do {
      const query: Record<string, string> = { 'list-type': '2', prefix: `${this.fullKey(prefix)}/` };
      if (token) query['continuation-token'] = token;
      const res = await this.request('GET', this.url(null, query));
      if (!res.ok) await this.fail(res, `list ${prefix}`);
      const xml = await res.text();
      for (const m of xml.matchAll(/<Key>([^<]+)<\/Key>/g)) keys.push(decodeXml(m[1]!).slice(strip));
      token = /<IsTruncated>true<\/IsTruncated>/.test(xml) ? (decodeXml(/<NextContinuationToken>([^<]+)<\/NextContinuationToken>/.exec(xml)?.[1] ?? '') || null) : null;
    } while (token);
    return keys;
  }

  async deletePrefix(prefix: string): Promise<number> {
    assertStorageKey(prefix);
    const keys = await this.list(prefix);
    if (await this.exists(prefix)) keys.push(prefix);
    for (const key of keys) await this.delete(key);
    return keys.length;
  }
}

function decodeXml(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

/** S3_ENDPOINT, S3_REGION (us-east-1), S3_BUCKET, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_KEY_PREFIX; null when S3_BUCKET is unset. */
export function s3OptionsFromEnv(env: NodeJS.ProcessEnv = process.env): S3Options | null {
  if (!env.S3_BUCKET) return null;
  if (!env.S3_ENDPOINT || !env.S3_ACCESS_KEY_ID || !env.S3_SECRET_ACCESS_KEY) throw new Error('S3_BUCKET needs S3_ENDPOINT, S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY');
  return {
    endpoint: env.S3_ENDPOINT,
    region: env.S3_REGION ?? 'us-east-1',
    bucket: env.S3_BUCKET,
    accessKeyId: env.S3_ACCESS_KEY_ID,
    secretAccessKey: env.S3_SECRET_ACCESS_KEY,
    keyPrefix: env.S3_KEY_PREFIX || undefined,
    virtualHosted: env.S3_VIRTUAL_HOSTED === 'true',
  };
}
