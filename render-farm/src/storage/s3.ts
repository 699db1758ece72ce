/**
 * S3-compatible storage through the AWS SDK (@aws-sdk/client-s3; @aws-sdk/lib-storage for uploads,
 * multipart above S3_PART_SIZE with parts sent in parallel and aborted on failure). Signing (SigV4),
 * retries with back-off (standard mode, S3_MAX_ATTEMPTS) and CRC32 checksums on uploads (verified by
 * the server, and on downloads by the SDK when the server returns one) are the SDK's. Path-style or
 * virtual-hosted URLs and custom endpoints (MinIO, Cloudflare R2, Yandex Object Storage) come from
 * the shared S3 settings (shared/storage).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CopyObjectCommand, DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, paginateListObjectsV2, S3Client, S3ServiceException, type S3ClientConfig } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { s3ClientConfig, s3ConfigFromEnv, s3ObjectKey, S3_PART_SIZE, storageKeyOf, type S3Config } from '@clipmaker/shared/storage';
import { assertStorageKey } from './keys.ts';
import { StorageNotFoundError, type LocalFile, type PutOptions, type Storage, type StorageStat, type StoredObject } from './storage.ts';

export interface S3Options extends S3Config {
  /** Where localPath() downloads to (default os.tmpdir()). */
  tempDir?: string;
  /** Extra client settings (tests: a request handler that resolves virtual-hosted names locally). */
  client?: Partial<S3ClientConfig>;
}

export class S3Error extends Error {
  override name = 'S3Error';
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly status: number | undefined,
  ) {
    super(message);
  }
}

const isNotFound = (err: unknown) => err instanceof S3ServiceException && (err.name === 'NotFound' || err.name === 'NoSuchKey' || err.$metadata.httpStatusCode === 404);

function wrap(err: unknown, what: string): never {
  if (err instanceof S3ServiceException) throw new S3Error(`s3 ${what}: HTTP ${err.$metadata.httpStatusCode ?? '?'} ${err.name}`, err.name, err.$metadata.httpStatusCode);
  throw err;
}

export class S3Storage implements Storage {
  readonly driver = 's3';
  readonly client: S3Client;

  constructor(private readonly o: S3Options) {
    this.client = new S3Client({ ...s3ClientConfig(o), ...o.client });
  }

  get bucket(): string {
    return this.o.bucket;
  }

  private key(key: string): string {
    assertStorageKey(key);
    return s3ObjectKey(this.o, key);
  }

  async put(key: string, fromFile: string, opts: PutOptions = {}): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.o.bucket, Key: this.key(key), Body: createReadStream(fromFile), ContentType: opts.contentType ?? 'application/octet-stream' },
      partSize: S3_PART_SIZE,
      queueSize: 4,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (err) {
      wrap(err, `put ${key}`);
    }
  }

  async get(key: string, toFile: string): Promise<void> {
    let body: Readable;
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.o.bucket, Key: this.key(key) }));
      body = res.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) throw new StorageNotFoundError(key);
      wrap(err, `get ${key}`);
    }
    await mkdir(dirname(toFile), { recursive: true });
    const tmp = `${toFile}.${randomBytes(4).toString('hex')}.part`;
    try {
      await pipeline(body, createWriteStream(tmp));
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
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.o.bucket, Key: this.key(key) }));
      return { size: res.ContentLength ?? 0, modifiedAt: res.LastModified ?? new Date() };
    } catch (err) {
      if (isNotFound(err)) return null;
      wrap(err, `head ${key}`);
    }
  }

  async exists(key: string): Promise<boolean> {
    return (await this.stat(key)) !== null;
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.o.bucket, Key: this.key(key) }));
    } catch (err) {
      if (!isNotFound(err)) wrap(err, `delete ${key}`);
    }
  }

  /** Storage keys under `prefix/`, all pages. */
  async list(prefix: string): Promise<string[]> {
    return (await this.listObjects(prefix)).map((o) => o.key);
  }

  async listObjects(prefix: string): Promise<StoredObject[]> {
    const out: StoredObject[] = [];
    try {
      for await (const page of paginateListObjectsV2({ client: this.client }, { Bucket: this.o.bucket, Prefix: `${this.key(prefix)}/` })) {
        for (const o of page.Contents ?? []) {
          const k = o.Key ? storageKeyOf(this.o, o.Key) : null;
          if (k) out.push({ key: k, size: o.Size ?? 0, modifiedAt: o.LastModified ?? new Date(0) });
        }
      }
    } catch (err) {
      wrap(err, `list ${prefix}`);
    }
    return out;
  }

  /** S3 has no utimes: copying the object onto itself with its metadata replaced renews LastModified. */
  async touch(key: string): Promise<void> {
    const k = this.key(key);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.o.bucket, Key: k }));
      await this.client.send(
        new CopyObjectCommand({ Bucket: this.o.bucket, Key: k, CopySource: `${this.o.bucket}/${k.split('/').map(encodeURIComponent).join('/')}`, MetadataDirective: 'REPLACE', ContentType: head.ContentType, Metadata: { ...head.Metadata, touched: String(Date.now()) } }),
      );
    } catch (err) {
      if (!isNotFound(err)) wrap(err, `touch ${key}`);
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    const keys = await this.list(prefix);
    if (await this.exists(prefix)) keys.push(prefix);
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      try {
        const res = await this.client.send(new DeleteObjectsCommand({ Bucket: this.o.bucket, Delete: { Objects: batch.map((k) => ({ Key: this.key(k) })), Quiet: true } }));
        if (res.Errors?.length) throw new S3Error(`s3 delete ${prefix}: ${res.Errors.length} objects not deleted (${res.Errors[0]!.Code})`, res.Errors[0]!.Code, undefined);
      } catch (err) {
        if (err instanceof S3Error) throw err;
        wrap(err, `delete ${prefix}`);
      }
    }
    return keys.length;
  }
}

/** The farm's S3 options from the environment (shared/storage), or null for local disk. */
export function s3OptionsFromEnv(env: NodeJS.ProcessEnv = process.env): S3Options | null {
  return s3ConfigFromEnv(env);
}
