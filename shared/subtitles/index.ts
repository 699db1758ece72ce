export * from './cue-text.ts';
export * from './formats.ts';
export * from './webvtt.ts';
export * from './srt.ts';
export * from './ass-file.ts';
export * from './ass.ts';
export * from './text-layer.ts';
