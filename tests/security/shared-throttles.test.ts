/**
 * Attack: spread password guesses over the app's replicas, or wait for a restart, to get more than
 * one budget. The throttles live in Redis (throttle.ts): two app processes on one Redis share one
 * count, and a restarted process still knows it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../support/db.ts';
import { uniquePrefix } from '../support/redis.ts';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { postForm, signUpUser } from './support.ts';

describe('throttles shared by every app process', () => {
  let db: TestDb;
  const env = { QUEUE_PREFIX: uniquePrefix('throttle') };
  let a: RunningApp;
  let b: RunningApp;

  beforeAll(async () => {
    db = await createTestDb();
    [a, b] = await Promise.all([startApp(env, { db }), startApp(env, { db })]);
    await signUpUser(a.url, 'target@example.com', 'the right password');
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await db?.dispose();
  });

  const guess = (app: RunningApp, password: string) => postForm(app.url, '/login', { email: 'target@example.com', password });

  it('10 guesses spread over two processes use up one budget, and a restart forgets nothing', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await guess(i % 2 ? b : a, `guess ${i}`)).status);
    expect(statuses).toEqual(Array(10).fill(401));
    // The 11th attempt is refused on both, even with the right password.
    expect((await guess(a, 'the right password')).status).toBe(429);
    expect((await guess(b, 'the right password')).status).toBe(429);

    await b.stop();
    b = await startApp(env, { db });
    const afterRestart = await guess(b, 'the right password');
    expect(afterRestart.status).toBe(429);
    expect(await afterRestart.text()).toMatch(/Too many log-in attempts/);
  });
});
