export * from './formats.ts';
export * from './ass.ts';
export * from './text-layer.ts';
