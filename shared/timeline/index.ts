export * from './model.ts';
export * from './ops.ts';
