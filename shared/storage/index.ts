/**
 * Where the object storage is, as the app and the render farm both read it (one definition, pure:
 * no SDK here; each side builds its @aws-sdk/client-s3 client from s3ClientConfig()).
 *
 * Env: S3_BUCKET (set = S3 instead of the local disk), S3_ENDPOINT (unset = AWS; MinIO, R2, Yandex
 * Object Storage… otherwise), S3_REGION (us-east-1; R2 "auto", Yandex "ru-central1"),
 * S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY (unset = the SDK's default chain: AWS_* env, profile, IAM
 * role), S3_KEY_PREFIX (prepended to every key), S3_VIRTUAL_HOSTED (true = bucket.host URLs; default
 * true on AWS, false = path style with a custom endpoint), S3_MAX_ATTEMPTS (5: the SDK's standard
 * retry mode with back-off), S3_CHECKSUMS ("when_supported": CRC32 on every upload, checked on
 * download; "when_required" for servers that reject checksums).
 */
import { z } from 'zod';

export const S3Env = z.object({
  S3_BUCKET: z.string().min(3).max(63),
  S3_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  S3_KEY_PREFIX: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._/-]*[a-z0-9]$|^$/, 'S3_KEY_PREFIX: lower-case letters, digits, . _ - / (no leading or trailing slash)')
    .optional(),
  S3_VIRTUAL_HOSTED: z.enum(['true', 'false']).optional(),
  S3_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(5),
  S3_CHECKSUMS: z.enum(['when_supported', 'when_required']).default('when_supported'),
});

export interface S3Config {
  bucket: string;
  endpoint?: string;
  region: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  keyPrefix?: string;
  forcePathStyle: boolean;
  maxAttempts: number;
  checksums: 'WHEN_SUPPORTED' | 'WHEN_REQUIRED';
}

/** null when S3_BUCKET is unset (local disk); throws a readable error for a bad combination. */
export function s3ConfigFromEnv(env: Record<string, string | undefined>): S3Config | null {
  const blank = (v: string | undefined) => (v === undefined || v.trim() === '' ? undefined : v.trim());
  const raw = Object.fromEntries(Object.keys(S3Env.shape).map((k) => [k, blank(env[k])]));
  if (!raw.S3_BUCKET) return null;
  const parsed = S3Env.safeParse(raw);
  if (!parsed.success) throw new Error(`S3 settings: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const e = parsed.data;
  if (!!e.S3_ACCESS_KEY_ID !== !!e.S3_SECRET_ACCESS_KEY) throw new Error('S3 settings: set both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or neither (the SDK default credentials)');
  return {
    bucket: e.S3_BUCKET,
    ...(e.S3_ENDPOINT ? { endpoint: e.S3_ENDPOINT } : {}),
    region: e.S3_REGION,
    ...(e.S3_ACCESS_KEY_ID && e.S3_SECRET_ACCESS_KEY ? { credentials: { accessKeyId: e.S3_ACCESS_KEY_ID, secretAccessKey: e.S3_SECRET_ACCESS_KEY } } : {}),
    ...(e.S3_KEY_PREFIX ? { keyPrefix: e.S3_KEY_PREFIX } : {}),
    forcePathStyle: e.S3_VIRTUAL_HOSTED ? e.S3_VIRTUAL_HOSTED === 'false' : !!e.S3_ENDPOINT,
    maxAttempts: e.S3_MAX_ATTEMPTS,
    checksums: e.S3_CHECKSUMS === 'when_required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
  };
}

/** The S3ClientConfig fields (plain data; the caller adds its own requestHandler if it needs one). */
export function s3ClientConfig(c: S3Config) {
  return {
    region: c.region,
    ...(c.endpoint ? { endpoint: c.endpoint } : {}),
    ...(c.credentials ? { credentials: c.credentials } : {}),
    forcePathStyle: c.forcePathStyle,
    maxAttempts: c.maxAttempts,
    retryMode: 'standard',
    requestChecksumCalculation: c.checksums,
    responseChecksumValidation: c.checksums,
  } as const;
}

/** Our storage key -> the object key in the bucket. */
export function s3ObjectKey(c: Pick<S3Config, 'keyPrefix'>, key: string): string {
  return c.keyPrefix ? `${c.keyPrefix}/${key}` : key;
}

/** The object key back to our storage key (null when it is not under the prefix). */
export function storageKeyOf(c: Pick<S3Config, 'keyPrefix'>, objectKey: string): string | null {
  if (!c.keyPrefix) return objectKey;
  return objectKey.startsWith(`${c.keyPrefix}/`) ? objectKey.slice(c.keyPrefix.length + 1) : null;
}

/** Uploads above this many bytes go multipart (lib-storage), in parts of this size. */
export const S3_PART_SIZE = 8 * 1024 * 1024;
