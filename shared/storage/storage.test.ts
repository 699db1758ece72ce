import { describe, expect, it } from 'vitest';
import { s3ClientConfig, s3ConfigFromEnv, s3ObjectKey, storageKeyOf } from './index.ts';

describe('S3 settings from the environment', () => {
  it('unset or blank S3_BUCKET means local disk', () => {
    expect(s3ConfigFromEnv({})).toBeNull();
    expect(s3ConfigFromEnv({ S3_BUCKET: '  ', S3_ENDPOINT: 'http://minio:9000' })).toBeNull();
  });

  it('MinIO: a custom endpoint defaults to path style; AWS (no endpoint) to virtual-hosted and the default credential chain', () => {
    expect(s3ConfigFromEnv({ S3_BUCKET: 'media', S3_ENDPOINT: 'http://minio:9000', S3_ACCESS_KEY_ID: 'k', S3_SECRET_ACCESS_KEY: 's' })).toEqual({
      bucket: 'media',
      endpoint: 'http://minio:9000',
      region: 'us-east-1',
      credentials: { accessKeyId: 'k', secretAccessKey: 's' },
      forcePathStyle: true,
      maxAttempts: 5,
      checksums: 'WHEN_SUPPORTED',
    });
    const aws = s3ConfigFromEnv({ S3_BUCKET: 'media', S3_REGION: 'eu-west-1', S3_ACCESS_KEY_ID: '', S3_SECRET_ACCESS_KEY: '' })!;
    expect([aws.forcePathStyle, aws.credentials, aws.endpoint]).toEqual([false, undefined, undefined]);
  });

  it('R2 and Yandex Object Storage as the seeds configure them; S3_VIRTUAL_HOSTED overrides the default', () => {
    const r2 = s3ConfigFromEnv({ S3_BUCKET: 'clips', S3_ENDPOINT: 'https://acc123.r2.cloudflarestorage.com', S3_REGION: 'auto', S3_ACCESS_KEY_ID: 'k', S3_SECRET_ACCESS_KEY: 's', S3_CHECKSUMS: 'when_required' })!;
    expect(s3ClientConfig(r2)).toMatchObject({ region: 'auto', endpoint: 'https://acc123.r2.cloudflarestorage.com', forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED', maxAttempts: 5, retryMode: 'standard' });
    const yandex = s3ConfigFromEnv({ S3_BUCKET: 'clips', S3_ENDPOINT: 'https://storage.yandexcloud.net', S3_REGION: 'ru-central1', S3_VIRTUAL_HOSTED: 'true', S3_ACCESS_KEY_ID: 'k', S3_SECRET_ACCESS_KEY: 's', S3_KEY_PREFIX: 'prod/clipmaker', S3_MAX_ATTEMPTS: '8' })!;
    expect([yandex.forcePathStyle, yandex.region, yandex.maxAttempts]).toEqual([false, 'ru-central1', 8]);
    expect(s3ObjectKey(yandex, 'renders/r1/output.mp4')).toBe('prod/clipmaker/renders/r1/output.mp4');
    expect(storageKeyOf(yandex, 'prod/clipmaker/renders/r1/output.mp4')).toBe('renders/r1/output.mp4');
    expect(storageKeyOf(yandex, 'other/renders/r1/output.mp4')).toBeNull();
  });

  it('refuses half credentials, a bad endpoint or prefix, with the variable named', () => {
    expect(() => s3ConfigFromEnv({ S3_BUCKET: 'media', S3_ACCESS_KEY_ID: 'k' })).toThrow(/both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY/);
    expect(() => s3ConfigFromEnv({ S3_BUCKET: 'media', S3_ENDPOINT: 'ftp://x' })).toThrow(/S3_ENDPOINT/);
    expect(() => s3ConfigFromEnv({ S3_BUCKET: 'media', S3_KEY_PREFIX: '/abs/' })).toThrow(/S3_KEY_PREFIX/);
    expect(() => s3ConfigFromEnv({ S3_BUCKET: 'media', S3_CHECKSUMS: 'never' })).toThrow(/S3_CHECKSUMS/);
  });
});
