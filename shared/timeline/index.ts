export * from './model.ts';
export * from './ops.ts';
export * from './read.ts';
export * from './captions.ts';
export * from './ripple.ts';
