/**
 * Who may approve, in Chromium against the real product with a real in-process SMTP server: a guest on
 * a comment-only link sees no approve control and is refused when posting the decision by hand; a
 * guest on an approve link verifies an email by the code read from the mail it was sent in, then
 * approves, and the approval names them, their email and the time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, screenshotBothSizes } from '../support/browser.ts';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { makeLandscapeVideo } from '../support/media.ts';
import { startSmtp, type TestSmtp } from '../support/smtp.ts';
import { createProject, seedRender, signUpUser, trpc } from '../security/support.ts';

describe('guest approval in Chromium', () => {
  let app: RunningApp;
  let browser: Browser;
  let smtp: TestSmtp;
  let sql: postgres.Sql;
  let work: string;
  let owner: string;
  let renderId: string;

  async function link(fields: Record<string, unknown>): Promise<string> {
    const res = await trpc(app.url, owner, 'review.createShareLink', { renderId, ...fields }, 'mutation');
    expect(res.status, await res.clone().text()).toBe(200);
    return `${app.url}${((await res.json()) as { result: { data: { path: string } } }).result.data.path}`;
  }

  async function openAsGuest(url: string, name: string): Promise<Page> {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 720 } })).newPage();
    await page.goto(url);
    await page.fill('[data-testid=name-form] input[name=name]', name);
    await page.click('[data-testid=name-form] button');
    await page.waitForSelector(`[data-testid=guest-name]:has-text("${name}")`);
    return page;
  }

  /** A form action posted from the page's own script, as an attacker editing the page would. */
  const postAction = (page: Page, action: string, fields: Record<string, string>) =>
    page.evaluate(
      async ([a, f]) => {
        const body = new FormData();
        for (const [k, v] of Object.entries(f)) body.set(k, v);
        const res = await fetch(`?/${a}`, { method: 'POST', body, headers: { 'x-sveltekit-action': 'true' } });
        return (await res.json()) as { type: string; status?: number };
      },
      [action, fields] as const,
    );

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'cm-approval-'));
    smtp = await startSmtp();
    [app, browser] = await Promise.all([startApp({ SMTP_URL: smtp.url, MAIL_FROM: 'ClipMaker <review@clipmaker.test>' }), launchChromium()]);
    sql = postgres(app.db.url, { max: 1, onnotice: () => {} });
    owner = await signUpUser(app.url, 'olivia@example.com', 'long enough pw', 'Olivia Owner');
    const project = await createProject(app.url, owner, 'Agency cut');
    const seeded = await seedRender(sql, app.dataDir, project);
    renderId = seeded.renderId;
    // A real, playable file behind the seeded render (frame-accurate media is review-player's job).
    const src = path.join(work, 'clip.mp4');
    makeLandscapeVideo(src, 2);
    mkdirSync(path.dirname(path.join(app.dataDir, 'storage', seeded.outputKey)), { recursive: true });
    copyFileSync(src, path.join(app.dataDir, 'storage', seeded.outputKey));
  });
  afterAll(async () => {
    await sql?.end();
    await browser?.close();
    await app?.stop();
    await smtp?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('a guest with comment-only permission cannot approve, not even by posting the decision by hand', async () => {
    const guest = await openAsGuest(await link({ allowComment: true, allowApprove: false }), 'Cam Commenter');
    await guest.waitForSelector('[data-testid=link-permissions]:has-text("You can watch and comment")');
    expect(await guest.locator('[data-testid=approve]').count()).toBe(0);
    expect(await guest.locator('[data-testid=email-form]').count()).toBe(0);
    const decided = await postAction(guest, 'decide', { renderId, state: 'approved' });
    expect(decided).toMatchObject({ type: 'failure', status: 403 });
    const coded = await postAction(guest, 'sendCode', { email: 'cam@client.example' });
    expect(coded).toMatchObject({ type: 'failure', status: 403 });
    expect(smtp.messages.filter((m) => m.to.includes('cam@client.example'))).toEqual([]);
    const [{ n }] = (await sql`select count(*)::int as n from approvals where render_id = ${renderId}`) as unknown as [{ n: number }];
    expect(n).toBe(0);
    await guest.context().close();
  });

  it('an approver verifies the emailed code and approves; the approval records name, email and time', async () => {
    const guest = await openAsGuest(await link({ allowApprove: true }), 'Carla Client');
    const errors: string[] = [];
    guest.on('pageerror', (e) => errors.push(e.message));
    expect(await guest.locator('[data-testid=approve]').count()).toBe(0);
    // Posting a decision before verifying is refused.
    expect(await postAction(guest, 'decide', { renderId, state: 'approved' })).toMatchObject({ type: 'failure', status: 403 });
    await guest.waitForSelector('[data-testid=email-form]');
    await screenshotBothSizes(guest, 'review-approve-email');
    await guest.fill('[data-testid=approve-email]', 'Carla@Client.example');
    await guest.click('[data-testid=send-code]');
    await guest.waitForSelector('[data-testid=code-form]:has-text("carla@client.example")');
    const mail = await smtp.waitFor('carla@client.example');
    expect(mail.from).toBe('review@clipmaker.test');
    const code = /\b(\d{6})\b/.exec(mail.text)![1]!;

    await guest.fill('[data-testid=approve-code]', code === '000000' ? '111111' : '000000');
    await guest.click('[data-testid=verify-code]');
    await guest.waitForSelector('[data-testid=decide-error]:has-text("Wrong code. 4 tries left.")');
    await screenshotBothSizes(guest, 'review-approve-code');
    await guest.fill('[data-testid=approve-code]', code);
    await guest.click('[data-testid=verify-code]');
    await guest.waitForSelector('[data-testid=verified-email]:has-text("carla@client.example")');
    await screenshotBothSizes(guest, 'review-approve-verified');

    const before = Date.now();
    await guest.click('[data-testid=approve]');
    await guest.waitForSelector('[data-testid=approval-state]:has-text("Approved")');
    await guest.waitForSelector('[data-testid=approval-by]:has-text("Carla Client (carla@client.example)")');
    const [row] = (await sql`select by_name, by_email, by_user_id, share_link_id, at from approvals where render_id = ${renderId}`) as unknown as [{ by_name: string; by_email: string; by_user_id: string | null; share_link_id: string | null; at: Date }];
    expect(row).toMatchObject({ by_name: 'Carla Client', by_email: 'carla@client.example', by_user_id: null });
    expect(row.share_link_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Math.abs(row.at.getTime() - before)).toBeLessThan(60_000);
    await screenshotBothSizes(guest, 'review-approved');

    // The verification is bound to this link: the cookie replayed on another approve link proves nothing.
    const cookies = await guest.context().cookies();
    const proof = cookies.find((c) => c.name === 'cm_review_email')!;
    const other = await openAsGuest(await link({ allowApprove: true }), 'Carla Client');
    await other.context().addCookies([{ ...proof, path: new URL(other.url()).pathname }]);
    await other.reload();
    await other.waitForSelector('[data-testid=email-form]');
    expect(await postAction(other, 'decide', { renderId, state: 'changes_requested' })).toMatchObject({ type: 'failure', status: 403 });
    expect(errors).toEqual([]);
    await other.context().close();
    await guest.context().close();
  });
});
