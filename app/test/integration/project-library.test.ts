/**
 * The projects page's operations against a real database and real storage: cards with thumbnails,
 * rename, duplicate (new asset rows on the same files, the document re-pointed), trash / restore,
 * delete forever (files gone from storage, except those a duplicate still uses).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as Y from 'yjs';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '@clipmaker/db';
import { appendUpdate, loadDocumentState } from '@clipmaker/db/documents';
import { addAsset, addClip, readTimeline } from '@clipmaker/shared/timeline';
import { makeLandscapeVideo } from '../../../tests/support/media.ts';
import { createReviewFixture, type ReviewFixture } from './review-fixture.ts';
import { uploadAsset } from '../../src/lib/server/services/assets.ts';
import { openProject, watchProjectAccess } from '../../src/lib/server/services/projects.ts';
import { changeMemberRole, removeMember } from '../../src/lib/server/services/accounts/members.ts';
import { deleteProjectForever, duplicateProject, listProjectCards, renameProject, restoreProject, trashProject } from '../../src/lib/server/services/project-library.ts';
import { LocalStorage } from '../../src/lib/server/storage.ts';
import { createShareLink, findLiveLink, linkMayServe } from '../../src/lib/server/services/review.ts';

let f: ReviewFixture;
let dir: string;
let assetKey: string;
let assetId: string;
const owner = () => ({ id: f.users.owner.id, name: f.users.owner.name });
const editor = () => ({ id: f.users.editor.id, name: f.users.editor.name });
const stored = (key: string) => existsSync((f.ctx.storage as LocalStorage).resolve(key));

beforeAll(async () => {
  f = await createReviewFixture();
  dir = mkdtempSync(path.join(tmpdir(), 'cm-library-'));
  const file = path.join(dir, 'clip.mp4');
  makeLandscapeVideo(file, 1);
  const asset = await uploadAsset(f.ctx, f.users.owner.id, f.projectId, 'clip.mp4', new Blob([readFileSync(file)]).stream());
  assetKey = asset.key;
  assetId = asset.id;
  const doc = new Y.Doc();
  Y.applyUpdate(doc, (await loadDocumentState(f.ctx.db.db, f.projectId)).state);
  const sv = Y.encodeStateVector(doc);
  addAsset(doc, { id: asset.id, key: asset.key, kind: 'video', name: asset.name, width: asset.width, height: asset.height, fps: asset.fps, durationFrames: asset.durationFrames, durationUs: asset.durationUs, hasAudio: asset.hasAudio, sha256: asset.sha256 });
  addClip(doc, { assetId: asset.id });
  await appendUpdate(f.ctx.db.db, f.projectId, Y.encodeStateAsUpdate(doc, sv), f.users.owner.id);
  doc.destroy();
}, 60_000);
afterAll(async () => {
  await f?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('project library', () => {
  it('cards: the first asset stands in until a render has finished; then its thumbnail', async () => {
    let [card] = (await listProjectCards(f.ctx, f.users.viewer.id)).filter((c) => c.id === f.projectId);
    // The fixture's render has no poster or thumbnail yet: the first asset is the picture.
    expect(card!.thumb).toEqual({ kind: 'video', url: `/api/assets/${assetId}/file` });
    const prefix = `renders/${f.renderId}`;
    for (const name of ['output.mp4', 'poster.jpg', 'thumb.jpg']) await f.ctx.storage.putBytes(`${prefix}/${name}`, `bytes of ${name}`);
    await f.ctx.db.db.update(schema.renders).set({ posterKey: `${prefix}/poster.jpg`, thumbKey: `${prefix}/thumb.jpg` }).where(eq(schema.renders.id, f.renderId));
    [card] = (await listProjectCards(f.ctx, f.users.viewer.id)).filter((c) => c.id === f.projectId);
    expect(card!.thumb?.kind).toBe('render');
    expect(new URL(card!.thumb!.url, 'http://x').searchParams.get('key')).toBe(`${prefix}/thumb.jpg`);
    expect(await listProjectCards(f.ctx, f.users.outsider.id)).toEqual([]);
  });

  it('the live access feed: the role now, each change at once, and the end when access is gone', async () => {
    const ac = new AbortController();
    const feed = await watchProjectAccess(f.ctx, f.users.reviewer.id, f.projectId, ac.signal);
    const next = async () => (await feed.next()).value;
    expect(await next()).toEqual({ role: 'reviewer' });
    const t0 = Date.now();
    await changeMemberRole(f.ctx, f.users.owner.id, { orgId: f.orgId, userId: f.users.reviewer.id, role: 'viewer' });
    expect(await next()).toEqual({ role: 'viewer' });
    await removeMember(f.ctx, f.users.owner.id, { orgId: f.orgId, userId: f.users.reviewer.id });
    expect(await next()).toEqual({ role: null });
    expect(Date.now() - t0).toBeLessThan(5_000); // the message, not the 30 s re-check timer
    expect((await feed.next()).done).toBe(true);
    ac.abort();
    await expect(watchProjectAccess(f.ctx, f.users.outsider.id, f.projectId)).rejects.toMatchObject({ code: 'not-found' });
  });

  it('rename: trimmed, validated, editors only', async () => {
    await expect(renameProject(f.ctx, editor(), { projectId: f.projectId, name: '  Teaser v2  ' })).resolves.toEqual({ id: f.projectId, name: 'Teaser v2' });
    await expect(renameProject(f.ctx, editor(), { projectId: f.projectId, name: '   ' })).rejects.toThrow();
    await expect(renameProject(f.ctx, { id: f.users.viewer.id, name: 'v' }, { projectId: f.projectId, name: 'x' })).rejects.toMatchObject({ code: 'forbidden' });
  });

  let copyId: string;
  it('duplicate: a new project whose document uses new asset rows on the same file', async () => {
    const copy = await duplicateProject(f.ctx, editor(), { projectId: f.projectId });
    copyId = copy.id;
    expect(copy.name).toBe('Teaser v2 (copy)');
    const opened = await openProject(f.ctx, f.users.editor.id, copy.id);
    expect(opened.assets).toHaveLength(1);
    const [copied] = opened.assets;
    expect(copied!.id).not.toBe(assetId);
    expect(copied!.key).toBe(assetKey); // the same file, not a copy of it
    const doc = new Y.Doc();
    Y.applyUpdate(doc, (await loadDocumentState(f.ctx.db.db, copy.id)).state);
    const tl = readTimeline(doc);
    expect(tl.assets.map((a) => a.id)).toEqual([copied!.id]);
    expect(tl.clips.map((c) => (c as { assetId: string }).assetId)).toEqual([copied!.id]);
    // Renders stay with the original.
    expect(await f.ctx.db.db.select().from(schema.renders).where(eq(schema.renders.projectId, copy.id))).toEqual([]);
  });

  it('trash closes the project (share links too); restore reopens it; the cards flag it meanwhile', async () => {
    const link = await createShareLink(f.ctx, owner(), { renderId: f.renderId });
    const token = link.path.split('/').pop()!;
    const outputKey = `renders/${f.renderId}/output.mp4`;
    await f.ctx.db.db.update(schema.renders).set({ outputKey }).where(eq(schema.renders.id, f.renderId));
    expect(await linkMayServe(f.ctx, link.id, outputKey, false)).toBe(true);
    await trashProject(f.ctx, editor(), f.projectId);
    await expect(openProject(f.ctx, f.users.owner.id, f.projectId)).rejects.toMatchObject({ code: 'not-found' });
    await expect(findLiveLink(f.ctx, token)).rejects.toMatchObject({ code: 'not-found' });
    expect(await linkMayServe(f.ctx, link.id, outputKey, false)).toBe(false);
    const card = (await listProjectCards(f.ctx, f.users.owner.id)).find((c) => c.id === f.projectId);
    expect(card!.trashedAt).not.toBeNull();
    await restoreProject(f.ctx, editor(), f.projectId);
    await expect(openProject(f.ctx, f.users.owner.id, f.projectId)).resolves.toBeTruthy();
    await expect(findLiveLink(f.ctx, token)).resolves.toMatchObject({ id: link.id });
  });

  it('delete forever: owners, trashed projects only; frees the render folder, keeps the file the duplicate uses', async () => {
    await expect(deleteProjectForever(f.ctx, owner(), f.projectId)).rejects.toMatchObject({ code: 'precondition-failed' });
    await trashProject(f.ctx, owner(), f.projectId);
    await expect(deleteProjectForever(f.ctx, editor(), f.projectId)).rejects.toMatchObject({ code: 'forbidden' });
    const renderFiles = ['spec.json', 'output.mp4', 'poster.jpg', 'thumb.jpg'].map((n) => `renders/${f.renderId}/${n}`);
    for (const k of renderFiles) expect(stored(k)).toBe(true);

    await deleteProjectForever(f.ctx, owner(), f.projectId);
    for (const k of renderFiles) expect(stored(k)).toBe(false);
    expect(existsSync((f.ctx.storage as LocalStorage).resolve(`renders/${f.renderId}`))).toBe(false);
    expect(await f.ctx.db.db.select().from(schema.projects).where(eq(schema.projects.id, f.projectId))).toEqual([]);
    expect(await f.ctx.db.db.select().from(schema.renders).where(eq(schema.renders.id, f.renderId))).toEqual([]);
    expect(stored(assetKey)).toBe(true); // the duplicate still uses it
    await expect(openProject(f.ctx, f.users.editor.id, copyId)).resolves.toBeTruthy();

    // The last project using the file goes: the file and its folder go too.
    await trashProject(f.ctx, owner(), copyId);
    await deleteProjectForever(f.ctx, owner(), copyId);
    expect(stored(assetKey)).toBe(false);
    expect(existsSync(path.dirname((f.ctx.storage as LocalStorage).resolve(assetKey)))).toBe(false);
    expect(await f.ctx.db.db.select().from(schema.assets).where(eq(schema.assets.storageKey, assetKey))).toEqual([]);
  });
});
