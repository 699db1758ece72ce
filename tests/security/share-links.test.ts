/**
 * Attack: keep using a share link's media URLs after the link is revoked, and download the file
 * through a link that only allows watching (by editing the URL). A guest's URLs carry the link id,
 * signed, and /api/files checks the link on every request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { cookieOf, createProject, fileUrlsIn, postForm, seedRender, signUpUser, trpc } from './support.ts';

describe('share links and their media URLs', () => {
  let app: RunningApp;
  let sql: postgres.Sql;
  let owner: string;
  let renderId: string;

  async function share(allowDownload: boolean): Promise<{ id: string; path: string }> {
    const res = await trpc(app.url, owner, 'review.createShareLink', { renderId, allowDownload }, 'mutation');
    expect(res.status, await res.clone().text()).toBe(200);
    return ((await res.json()) as { result: { data: { id: string; path: string } } }).result.data;
  }

  /** Opens the link as a guest (gives a name) and returns the media URLs on the page. */
  async function guestUrls(path: string): Promise<{ video: string; download: string | undefined }> {
    const named = await postForm(app.url, `${path}?/name`, { name: 'Guest' });
    expect(named.status, await named.clone().text()).toBeLessThan(400);
    const page = await fetch(`${app.url}${path}`, { headers: { cookie: cookieOf(named, 'cm_review_name') } });
    expect(page.status).toBe(200);
    const urls = fileUrlsIn(await page.text());
    const download = urls.find((u) => u.includes('download='));
    const video = urls.find((u) => u.includes('output.mp4') && !u.includes('download='));
    expect(video).toBeDefined();
    return { video: video!, download };
  }

  beforeAll(async () => {
    app = await startApp();
    sql = postgres(app.db.url, { max: 1, onnotice: () => {} });
    owner = await signUpUser(app.url, 'owner@example.com');
    const project = await createProject(app.url, owner);
    ({ renderId } = await seedRender(sql, app.dataDir, project, 'the rendered video'));
  });
  afterAll(async () => {
    await sql?.end();
    await app?.stop();
  });

  it('revoking a link stops its media URLs at once', async () => {
    const link = await share(false);
    const { video } = await guestUrls(link.path);
    expect(new URL(video, app.url).searchParams.get('l')).toBe(link.id);
    const before = await fetch(`${app.url}${video}`);
    expect(before.status).toBe(200);
    expect(await before.text()).toBe('the rendered video');
    const revoked = await trpc(app.url, owner, 'review.revokeShareLink', { linkId: link.id }, 'mutation');
    expect(revoked.status).toBe(200);
    const after = await fetch(`${app.url}${video}`);
    expect(after.status).toBe(403);
    expect(await after.text()).not.toContain('the rendered video');
  });

  it('a view-only link gives no download URL, and editing the URL into one is refused', async () => {
    const link = await share(false);
    const { video, download } = await guestUrls(link.path);
    expect(download).toBeUndefined();
    const forged = new URL(video, app.url);
    forged.searchParams.set('download', 'stolen.mp4');
    expect((await fetch(forged)).status).toBe(403);
    // Dropping the link id (to pass as a member's URL) breaks the signature too.
    const unlinked = new URL(video, app.url);
    unlinked.searchParams.delete('l');
    expect((await fetch(unlinked)).status).toBe(403);
  });

  it('a link that allows downloads gives an attachment URL that works', async () => {
    const link = await share(true);
    const { download } = await guestUrls(link.path);
    expect(download).toBeDefined();
    const res = await fetch(`${app.url}${download}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="render-v\d+\.mp4"$/);
    expect(await res.text()).toBe('the rendered video');
  });
});
