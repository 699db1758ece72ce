export * from './schema.ts';
export * from './time.ts';
export * from './crop.ts';
export * from './compile.ts';
export * from './ffmpeg-args.ts';
export * from './chunks.ts';
