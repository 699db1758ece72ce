import { TRPCError } from '@trpc/server';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { authedProcedure, publicProcedure, router } from './init.ts';
import { TRPC_ENDPOINT, resolveJsonCalls } from './json-calls.ts';

/** A router on the app's own tRPC setup (its error formatter and middlewares), with every kind of answer. */
const testRouter = router({
  hello: publicProcedure.input(z.object({ name: z.string().min(2) })).query(({ input }) => ({ greeting: `hi ${input.name}` })),
  list: publicProcedure.query(() => [1, 2, 3]),
  nothing: publicProcedure.query(() => undefined),
  me: authedProcedure.query(({ ctx }) => ({ id: ctx.user.id })),
  forbidden: publicProcedure.query(() => {
    throw new TRPCError({ code: 'FORBIDDEN', message: 'No.' });
  }),
  streamy: publicProcedure.query(() => ({ later: Promise.resolve(1) })),
  nested: router({ deep: publicProcedure.query(() => 'deep') }),
  save: publicProcedure.input(z.object({ n: z.number() })).mutation(({ input }) => ({ saved: input.n })),
  ticks: publicProcedure.subscription(async function* () {
    yield 1;
  }),
});

const ORIGIN = 'http://app.test';
const user = { id: 'u1', email: 'a@b.c', name: 'A', isFarmAdmin: false, isInstanceAdmin: false };

function request(method: string, pathAndQuery: string, init: { body?: string; headers?: Record<string, string> } = {}) {
  return new Request(`${ORIGIN}${TRPC_ENDPOINT}/${pathAndQuery}`, { method, body: init.body ?? null, headers: init.headers ?? {} });
}

async function snapshot(res: Response) {
  const headers = [...res.headers.entries()].sort(([a], [b]) => a.localeCompare(b));
  // An internal error's id (logged with it) is fresh for every answer.
  return { status: res.status, headers, body: (await res.text()).replace(/Internal error \([0-9a-f-]{36}\)/g, 'Internal error (id)') };
}

/** Both answers to the same request: the lean path's (null when it hands over) and tRPC's own. */
async function both(method: string, pathAndQuery: string, init: { body?: string; headers?: Record<string, string> } = {}, ctx: unknown = { user }) {
  const lean = await resolveJsonCalls(testRouter, request(method, pathAndQuery, init), new URL(`${ORIGIN}${TRPC_ENDPOINT}/${pathAndQuery}`), ctx);
  const trpc = await fetchRequestHandler({ endpoint: TRPC_ENDPOINT, req: request(method, pathAndQuery, init), router: testRouter, createContext: () => ctx as never });
  return { lean: lean && (await snapshot(lean)), trpc: await snapshot(trpc) };
}

const q = (input: unknown) => `input=${encodeURIComponent(JSON.stringify(input))}`;
const json = { 'content-type': 'application/json' };

/** Cases the lean path leaves to tRPC's handler (it returns null, nothing read). */
const HANDED_OVER = ['a subscription by POST', 'a path with a bad escape'];

describe('resolveJsonCalls answers exactly as tRPC does', () => {
  const cases: [string, string, string, { body?: string; headers?: Record<string, string> }?, unknown?][] = [
    ['a query with input', 'GET', `hello?${q({ name: 'Ann' })}`],
    ['a query without input', 'GET', 'list'],
    ['a query answering undefined', 'GET', 'nothing'],
    ['a nested procedure', 'GET', 'nested.deep'],
    ['invalid input (zod)', 'GET', `hello?${q({ name: 'A' })}`],
    ['malformed JSON input', 'GET', 'hello?input=%7Bnope'],
    ['an unknown procedure', 'GET', 'missing'],
    ['a thrown TRPCError', 'GET', 'forbidden'],
    ['an authed query, logged out', 'GET', 'me', {}, { user: null }],
    ['an authed query, logged in', 'GET', 'me'],
    ['a query answering promises (not streamable as JSON)', 'GET', 'streamy'],
    ['a query by POST', 'POST', 'list', { body: '', headers: json }],
    ['a mutation', 'POST', 'save', { body: JSON.stringify({ n: 4 }), headers: json }],
    ['a mutation by GET', 'GET', `save?${q({ n: 4 })}`],
    ['a mutation with bad input', 'POST', 'save', { body: JSON.stringify({ n: 'x' }), headers: json }],
    ['a mutation with a malformed body', 'POST', 'save', { body: '{', headers: json }],
    ['a batch of queries', 'GET', `hello,list,nested.deep?batch=1&${q({ 0: { name: 'Bo' } })}`],
    ['a batch with mixed errors (207)', 'GET', `hello,forbidden,missing?batch=1&${q({ 0: { name: 'B' } })}`],
    ['a batch all failing alike', 'GET', 'forbidden,forbidden?batch=1'],
    ['a batch whose input is not an object', 'GET', `list?batch=1&${q([1])}`],
    ['a batch with a stream-like answer', 'GET', 'list,streamy?batch=1'],
    ['a batch of mutations', 'POST', 'save,save?batch=1', { body: JSON.stringify({ 0: { n: 1 }, 1: { n: 2 } }), headers: json }],
    ['a subscription by POST', 'POST', 'ticks', { body: '', headers: json }],
    ['a path with a bad escape', 'GET', 'hel%E0lo'],
  ];
  for (const [name, method, path, init, ctx] of cases) {
    it(name, async () => {
      const { lean, trpc } = await both(method, path, init, ctx);
      if (lean) expect(lean).toEqual(trpc);
      else expect(HANDED_OVER).toContain(name); // tRPC's own handler answers these
    });
  }

  it('serves the common calls itself rather than handing them over', async () => {
    for (const [method, path, init] of [
      ['GET', `hello?${q({ name: 'Ann' })}`, {}],
      ['GET', 'list,nested.deep?batch=1', {}],
      ['POST', 'save', { body: JSON.stringify({ n: 1 }), headers: json }],
    ] as const) {
      const lean = await resolveJsonCalls(testRouter, request(method, path, init), new URL(`${ORIGIN}${TRPC_ENDPOINT}/${path}`), { user });
      expect(lean?.status).toBe(200);
    }
  });

  it('hands subscriptions, jsonl streams and other bodies to tRPC, body unread', async () => {
    const url = (p: string) => new URL(`${ORIGIN}${TRPC_ENDPOINT}/${p}`);
    expect(await resolveJsonCalls(testRouter, request('GET', 'ticks'), url('ticks'), { user })).toBeNull();
    expect(await resolveJsonCalls(testRouter, request('GET', 'list?batch=1', { headers: { 'trpc-accept': 'application/jsonl' } }), url('list?batch=1'), { user })).toBeNull();
    expect(await resolveJsonCalls(testRouter, request('HEAD', 'list'), url('list'), { user })).toBeNull();
    const form = request('POST', 'save', { body: 'n=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(await resolveJsonCalls(testRouter, form, url('save'), { user })).toBeNull();
    expect(form.bodyUsed).toBe(false);
  });
});
