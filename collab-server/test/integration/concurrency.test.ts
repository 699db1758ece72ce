/** Many real clients editing one document at once. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createTestDb, type TestDb } from '../../../tests/support/db.ts';
import { startCollabServer, type CollabServer } from '../../src/index.ts';
import { SECRET, connectClient, newProject, savedItems, sorted, synced, token, waitFor, type Client } from './support.ts';

describe('20 concurrent editors', () => {
  let t: TestDb;
  let server: CollabServer;
  const clients: Client[] = [];

  beforeAll(async () => {
    t = await createTestDb();
    server = await startCollabServer({ db: t.handle, secret: SECRET, port: 0, logger: pino({ level: 'silent' }), compactEvery: 50 });
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await server.close();
    await t.dispose();
  });

  it('converge on one document (array, text and map edits), and the saved document matches', async () => {
    const p = await newProject(t.handle.db);
    const url = `ws://127.0.0.1:${server.port}`;
    for (let i = 0; i < 20; i++) clients.push(connectClient(url, p, await token(p, i % 5 === 0 ? 'owner' : 'editor')));
    await Promise.all(clients.map((c) => synced(c)));

    const PER_CLIENT = 10;
    await Promise.all(
      clients.map(async (c, i) => {
        for (let k = 0; k < PER_CLIENT; k++) {
          c.push(`c${i}-${k}`);
          const text = c.doc.getText('title');
          text.insert(Math.min(text.length, k), String.fromCharCode(65 + (i % 26)));
          if (k % 3 === 0) c.doc.getMap('meta').set(`k${k}`, i);
          if (k === 5) {
            const arr = c.doc.getArray<string>('t');
            const own = arr.toArray().indexOf(`c${i}-0`);
            if (own >= 0) arr.delete(own, 1); // each client deletes its own first item
          }
          await new Promise((r) => setTimeout(r, Math.random() * 10));
        }
      }),
    );

    const expected = sorted(clients.flatMap((_, i) => Array.from({ length: PER_CLIENT }, (_, k) => `c${i}-${k}`).filter((x) => x !== `c${i}-0`)));
    await waitFor(() => clients.every((c) => c.items().length === expected.length), 30_000, 'all items everywhere');
    const first = clients[0]!;
    const metaOf = (c: Client) => JSON.stringify(Object.entries(c.doc.getMap('meta').toJSON()).sort());
    await waitFor(
      () => clients.every((c) => c.doc.getText('title').toString() === first.doc.getText('title').toString() && metaOf(c) === metaOf(first)),
      30_000,
      'text and map convergence',
    );
    for (const c of clients) expect(c.items()).toEqual(first.items());
    expect(sorted(first.items())).toEqual(expected);
    expect(first.doc.getText('title').length).toBe(20 * PER_CLIENT);

    await server.engine.flush();
    expect(await savedItems(t.handle.db, p)).toEqual(expected);
  });
});
