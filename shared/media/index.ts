export * from './probe.ts';
export * from './ingest.ts';
export * from './preview-rendition.ts';
