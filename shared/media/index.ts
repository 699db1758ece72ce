export * from './probe.ts';
export * from './ingest.ts';
export * from './preview-rendition.ts';
export * from './edit-proxy.ts';
