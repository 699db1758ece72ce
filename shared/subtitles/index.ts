export * from './formats.ts';
export * from './ass.ts';
