/**
 * A tiny expression language over one integer variable `u` (a layer's frame): the ffmpeg builder
 * prints it as an ffmpeg expression (overlay x/y, scale w/h, rotate angle), the PixiJS preview
 * evaluates it in JS. Both evaluate the same tree with the same double-precision operations in the
 * same order, so a value is the same number on the farm, in ffmpeg.wasm and in the browser.
 * Constants fold while the tree is built, so a static layer prints plain numbers.
 */

export type Expr =
  | { op: 'num'; v: number }
  | { op: 'u' }
  | { op: '+' | '-' | '*' | '/'; a: Expr; b: Expr }
  | { op: 'floor' | 'cos' | 'sin'; a: Expr }
  | { op: 'max'; a: Expr; b: Expr }
  /** 1 when lo <= u <= hi (integers), else 0. */
  | { op: 'between'; lo: number; hi: number };

export const U: Expr = { op: 'u' };

export function num(v: number): Expr {
  if (!Number.isFinite(v)) throw new Error(`not a finite number: ${v}`);
  return { op: 'num', v };
}

const isNum = (e: Expr): e is { op: 'num'; v: number } => e.op === 'num';

function bin(op: '+' | '-' | '*' | '/', a: Expr, b: Expr): Expr {
  if (isNum(a) && isNum(b)) return num(applyBin(op, a.v, b.v));
  if (op === '+' && isNum(b) && b.v === 0) return a;
  if (op === '+' && isNum(a) && a.v === 0) return b;
  if (op === '-' && isNum(b) && b.v === 0) return a;
  if (op === '*' && isNum(b) && b.v === 1) return a;
  // Every expression here is finite, so a product with 0 is 0 on both sides.
  if (op === '*' && ((isNum(a) && a.v === 0) || (isNum(b) && b.v === 0))) return num(0);
  if (op === '*' && isNum(a) && a.v === 1) return b;
  if (op === '/' && isNum(b) && b.v === 1) return a;
  return { op, a, b };
}

function applyBin(op: '+' | '-' | '*' | '/', a: number, b: number): number {
  if (op === '+') return a + b;
  if (op === '-') return a - b;
  if (op === '*') return a * b;
  return a / b;
}

export const add = (a: Expr, b: Expr) => bin('+', a, b);
export const sub = (a: Expr, b: Expr) => bin('-', a, b);
export const mul = (a: Expr, b: Expr) => bin('*', a, b);
export const div = (a: Expr, b: Expr) => bin('/', a, b);

function unary(op: 'floor' | 'cos' | 'sin', a: Expr): Expr {
  if (isNum(a)) return num(op === 'floor' ? Math.floor(a.v) : op === 'cos' ? Math.cos(a.v) : Math.sin(a.v));
  return { op, a };
}
export const floor = (a: Expr) => unary('floor', a);
export const cos = (a: Expr) => unary('cos', a);
export const sin = (a: Expr) => unary('sin', a);

/** The larger of a and b (ffmpeg's FFMAX, Math.max for numbers). */
export function max(a: Expr, b: Expr): Expr {
  if (isNum(a) && isNum(b)) return num(Math.max(a.v, b.v));
  return { op: 'max', a, b };
}

/** 2 * floor(a / 2): the even integer at or below a (yuv420p sizes and positions). */
export const evenFloor = (a: Expr) => mul(num(2), floor(div(a, num(2))));

export function between(lo: number, hi: number): Expr {
  return { op: 'between', lo, hi };
}

/** Value at integer u. */
export function evaluate(e: Expr, u: number): number {
  switch (e.op) {
    case 'num':
      return e.v;
    case 'u':
      return u;
    case '+':
    case '-':
    case '*':
    case '/':
      return applyBin(e.op, evaluate(e.a, u), evaluate(e.b, u));
    case 'floor':
      return Math.floor(evaluate(e.a, u));
    case 'cos':
      return Math.cos(evaluate(e.a, u));
    case 'sin':
      return Math.sin(evaluate(e.a, u));
    case 'max':
      return Math.max(evaluate(e.a, u), evaluate(e.b, u));
    case 'between':
      return u >= e.lo && u <= e.hi ? 1 : 0;
  }
}

export function isConstant(e: Expr): boolean {
  return isNum(e);
}

/** A number as ffmpeg's expression parser reads it back to the same double. */
function literal(v: number): string {
  const s = Object.is(v, -0) ? '0' : String(v);
  // av_strtod reads "1e-7" and "1e+21" like strtod; wrap negatives so "a--1" never appears.
  return v < 0 ? `(${s})` : s;
}

/**
 * The ffmpeg expression, `uVar` standing for u (e.g. "(n+12)"). Every operation is parenthesised,
 * so ffmpeg's parser builds exactly this tree. Commas only appear inside function calls, which is
 * why callers quote the whole expression inside a filter graph.
 */
export function toFfmpeg(e: Expr, uVar: string): string {
  switch (e.op) {
    case 'num':
      return literal(e.v);
    case 'u':
      return uVar;
    case '+':
    case '-':
    case '*':
    case '/':
      return `(${toFfmpeg(e.a, uVar)}${e.op}${toFfmpeg(e.b, uVar)})`;
    case 'floor':
    case 'cos':
    case 'sin':
      return `${e.op}(${toFfmpeg(e.a, uVar)})`;
    case 'max':
      return `max(${toFfmpeg(e.a, uVar)},${toFfmpeg(e.b, uVar)})`;
    case 'between':
      return `between(${uVar},${e.lo},${e.hi})`;
  }
}

/** One piece of a piecewise function of u: value(u) on [from, to] (integers, inclusive). */
export interface Piece {
  from: number;
  to: number;
  value: Expr;
}

/**
 * Piecewise function: sum of between(from, to) * value. Pieces must not overlap; u outside every
 * piece gives 0, so callers cover the whole range (hold values use wide pieces). Adjacent pieces
 * with the same constant merge.
 */
export function piecewise(pieces: readonly Piece[]): Expr {
  const merged: Piece[] = [];
  for (const p of pieces) {
    const last = merged[merged.length - 1];
    if (last && last.to + 1 === p.from && isNum(last.value) && isNum(p.value) && last.value.v === p.value.v) last.to = p.to;
    else merged.push({ ...p });
  }
  if (merged.length === 1 && isNum(merged[0]!.value)) return merged[0]!.value;
  let out: Expr | null = null;
  for (const p of merged) {
    const term = mul(between(p.from, p.to), p.value);
    out = out ? add(out, term) : term;
  }
  return out ?? num(0);
}

/** Evaluates a whole range of u at once (the preview draws frames one by one; tests use this). */
export function sample(e: Expr, from: number, to: number): number[] {
  const out: number[] = [];
  for (let u = from; u <= to; u++) out.push(evaluate(e, u));
  return out;
}
