export * from './probe.ts';
export * from './ingest.ts';
