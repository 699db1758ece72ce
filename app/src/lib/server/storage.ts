/**
 * App-side access to the object storage: local disk by default, S3-compatible when S3_BUCKET is set
 * (the same settings the render farm reads, shared/storage). Keys are validated with the shared
 * StorageKey schema; on disk the resolved path must stay inside the root, so a key never escapes.
 */
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat, copyFile, writeFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, paginateListObjectsV2, PutObjectCommand, S3Client, S3ServiceException, type S3ClientConfig } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { StorageKey } from '@clipmaker/shared/render-spec';
import { s3ClientConfig, s3ConfigFromEnv, s3ObjectKey, S3_PART_SIZE, type S3Config } from '@clipmaker/shared/storage';

export class StorageKeyError extends Error {}

export interface AppStorage {
  /** "local" or "s3", for logs. */
  readonly driver: string;
  /** Moves a finished local file into storage (the local file is gone afterwards). */
  putFile(key: string, localPath: string): Promise<void>;
  putBytes(key: string, data: Uint8Array | string): Promise<void>;
  getBytes(key: string): Promise<Buffer>;
  stat(key: string): Promise<{ size: number } | null>;
  /** The object's bytes [start, end] (inclusive, as HTTP ranges), or all of them. Errors arrive on the stream. */
  read(key: string, range?: { start: number; end: number }): Readable;
  /** Deletes `prefix` and everything under `prefix/`. */
  deletePrefix(prefix: string): Promise<void>;
}

function validKey(key: string): string {
  const parsed = StorageKey.safeParse(key);
  if (!parsed.success) throw new StorageKeyError(`invalid storage key: ${parsed.error.issues[0]?.message ?? key}`);
  return parsed.data;
}

export class LocalStorage implements AppStorage {
  readonly driver = 'local';

  constructor(readonly root: string) {}

  resolve(key: string): string {
    const full = path.resolve(this.root, validKey(key));
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

  read(key: string, range?: { start: number; end: number }): Readable {
    return createReadStream(this.resolve(key), range);
  }

  async deletePrefix(prefix: string): Promise<void> {
    await rm(this.resolve(prefix), { recursive: true, force: true });
  }
}

const isNotFound = (err: unknown) => err instanceof S3ServiceException && (err.name === 'NotFound' || err.name === 'NoSuchKey' || err.$metadata.httpStatusCode === 404);

/** S3-compatible storage through the AWS SDK: signing, retries and CRC32 checksums are the SDK's; uploads above S3_PART_SIZE go multipart. */
export class S3AppStorage implements AppStorage {
  readonly driver = 's3';
  readonly client: S3Client;

  constructor(
    private readonly c: S3Config,
    client: Partial<S3ClientConfig> = {},
  ) {
    this.client = new S3Client({ ...s3ClientConfig(c), ...client });
  }

  private key(key: string): string {
    return s3ObjectKey(this.c, validKey(key));
  }

  async putFile(key: string, localPath: string): Promise<void> {
    const upload = new Upload({ client: this.client, params: { Bucket: this.c.bucket, Key: this.key(key), Body: createReadStream(localPath) }, partSize: S3_PART_SIZE, queueSize: 4, leavePartsOnError: false });
    await upload.done();
    await rm(localPath, { force: true });
  }

  async putBytes(key: string, data: Uint8Array | string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.c.bucket, Key: this.key(key), Body: typeof data === 'string' ? Buffer.from(data) : data }));
  }

  async getBytes(key: string): Promise<Buffer> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.c.bucket, Key: this.key(key) }));
      return Buffer.from(await res.Body!.transformToByteArray());
    } catch (err) {
      if (isNotFound(err)) throw Object.assign(new Error(`storage object not found: ${key}`), { code: 'ENOENT' });
      throw err;
    }
  }

  async stat(key: string): Promise<{ size: number } | null> {
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.c.bucket, Key: this.key(key) }));
      return { size: res.ContentLength ?? 0 };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  read(key: string, range?: { start: number; end: number }): Readable {
    const out = new PassThrough();
    const objectKey = this.key(key);
    this.client
      .send(new GetObjectCommand({ Bucket: this.c.bucket, Key: objectKey, ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }))
      .then((res) => {
        const body = res.Body as Readable;
        body.on('error', (err) => out.destroy(err));
        body.pipe(out);
      })
      .catch((err: unknown) => out.destroy(err instanceof Error ? err : new Error(String(err))));
    return out;
  }

  async deletePrefix(prefix: string): Promise<void> {
    const root = this.key(prefix);
    const keys = [root];
    for await (const page of paginateListObjectsV2({ client: this.client }, { Bucket: this.c.bucket, Prefix: `${root}/` })) {
      for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
    }
    for (let i = 0; i < keys.length; i += 1000) {
      const res = await this.client.send(new DeleteObjectsCommand({ Bucket: this.c.bucket, Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true } }));
      if (res.Errors?.length) throw new Error(`s3 delete ${prefix}: ${res.Errors.length} objects not deleted (${res.Errors[0]!.Code})`);
    }
  }
}

/** S3 when S3_BUCKET is set (shared/storage settings, as the farm reads them), else the local folder. */
export function createStorage(storageDir: string, env: Record<string, string | undefined> = process.env): AppStorage {
  const s3 = s3ConfigFromEnv(env);
  return s3 ? new S3AppStorage(s3) : new LocalStorage(storageDir);
}
