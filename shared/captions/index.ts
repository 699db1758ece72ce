export * from './transcript.ts';
export * from './cues.ts';
export * from './word-style.ts';
export * from './to-spec.ts';
