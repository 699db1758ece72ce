/**
 * Live revocation in Chromium against the real product: an editor whose role is lowered in the
 * database (plus the app's AccessChange on Redis) sees the editor turn read-only within 2 s without a
 * reload, and the owner no longer receives their edits; removal from the team shows "no access".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import postgres from 'postgres';
import type { Browser } from 'playwright-core';
import { publishAccessChange } from '../../app/src/lib/server/access-events.ts';
import { launchChromium } from '../support/browser.ts';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { TEST_REDIS_URL, uniquePrefix } from '../support/redis.ts';
import { addCueVia, cueTexts, evidence, openEditor, setupUsers, type OpenEditor } from './collab-support.ts';

describe('an editor downgraded or removed while the project is open', () => {
  let app: RunningApp;
  let browser: Browser;
  const prefix = uniquePrefix('revoke-ui');
  // The app's helper on a minimal publisher (redis-cli), so this test needs no client library of its own.
  const redis = { publish: async (channel: string, message: string) => Number(execFileSync('redis-cli', ['-u', TEST_REDIS_URL, 'publish', channel, message]).toString().trim()) };
  let sql: ReturnType<typeof postgres>;

  beforeAll(async () => {
    [app, browser] = await Promise.all([startApp({ QUEUE_PREFIX: prefix }), launchChromium()]);
    sql = postgres(app.db.url, { max: 1 });
  });
  afterAll(async () => {
    await sql?.end();
    await browser?.close();
    await app?.stop();
  });

  it('turns read-only within 2 s without a reload, then closes on removal', async () => {
    const { owner, others } = await setupUsers(app, [{ name: 'Bob Editor', role: 'editor' }]);
    const bob = others[0]!;
    let a: OpenEditor | undefined;
    let b: OpenEditor | undefined;
    try {
      const created = await openEditor(browser, app, owner, null);
      a = created;
      b = await openEditor(browser, app, bob, created.projectId);
      const B = b.page;
      await B.setViewportSize({ width: 1280, height: 720 });
      await addCueVia(B, 'from bob as editor', 0);
      await expect.poll(() => cueTexts(a!.page), { timeout: 10_000 }).toContain('from bob as editor');
      const [m] = await sql<{ orgId: string }[]>`select org_id as "orgId" from memberships where user_id = ${bob.id} and role = 'editor'`;
      const navigations: string[] = [];
      B.on('framenavigated', (f) => f === B.mainFrame() && navigations.push(f.url()));

      await sql`update memberships set role = 'viewer' where org_id = ${m!.orgId} and user_id = ${bob.id}`;
      const t0 = Date.now();
      expect(await publishAccessChange(redis, { kind: 'org-member', orgId: m!.orgId, userId: bob.id, newRole: 'viewer' }, prefix)).toBeGreaterThan(0);
      await B.waitForSelector('[data-testid=access-notice]:has-text("read-only")', { timeout: 2_000 });
      expect(Date.now() - t0).toBeLessThan(2_000);
      await expect.poll(() => B.innerText('[data-testid=role]')).toContain('viewer');
      expect(await B.locator('[data-testid=add-cue]').count()).toBe(0);
      expect(navigations).toEqual([]);
      expect(await B.innerText('[data-testid=collab-status]')).toContain('connected');
      await B.evaluate(() => window.scrollTo(0, 0));
      await B.screenshot({ path: '/tmp/i17-readonly-1280.png' });
      await B.setViewportSize({ width: 1920, height: 1080 });
      await B.screenshot({ path: '/tmp/i17-readonly-1920.png' });

      await sql`delete from memberships where org_id = ${m!.orgId} and user_id = ${bob.id}`;
      await publishAccessChange(redis, { kind: 'org-member', orgId: m!.orgId, userId: bob.id, newRole: null }, prefix);
      await B.waitForSelector('[data-testid=access-notice]:has-text("no longer have access")', { timeout: 2_000 });
      expect(b.errors).toEqual([]);
    } catch (err) {
      throw await evidence(err, app, { owner: a, bob: b });
    } finally {
      await a?.context.close();
      await b?.context.close();
    }
  });
});
