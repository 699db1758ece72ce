export { LocalDiskStorage, defaultStorageDir } from './local-disk.ts';
export { assertStorageKey, keyToPath } from './keys.ts';
export { StorageKeyError, StorageNotFoundError, type LocalFile, type PutOptions, type Storage, type StorageStat, type StoredObject } from './storage.ts';
export { S3Storage, S3Error, s3OptionsFromEnv, type S3Options } from './s3.ts';
