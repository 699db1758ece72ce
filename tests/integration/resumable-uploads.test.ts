/**
 * Resumable uploads (tus) against the real product (`scripts/start.ts`), with the real tus client
 * (tus-js-client's Node build) through a TCP relay this test controls:
 *  - a file goes up in chunks; the relay cuts the connection in the middle of a chunk; a new client
 *    resumes from the server's offset (only the rest crosses the wire) and the stored asset has the
 *    original's exact bytes;
 *  - outsiders, viewers and the anonymous are refused, and cannot touch an editor's upload;
 *  - an Upload-Length over MAX_UPLOAD_BYTES is refused (413) on creation, before any body;
 *  - a hostile HLS playlist uploads completely and is then refused by the ingest probe (400, its
 *    reason), leaving no asset row, no stored object and no partial file;
 *  - a cross-site PATCH is refused (403); a partial upload past UPLOAD_EXPIRY_HOURS is refused (410)
 *    and swept.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import * as tus from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepUploads } from '../../app/src/lib/server/resumable-uploads.ts';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { ffmpeg } from '../support/media.ts';
import { createProject, signUpUser } from '../security/support.ts';

const MAX_UPLOAD_BYTES = 24 * 1024 * 1024;
const CHUNK = 128 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A relay to the app that counts the bytes clients send and can cut every connection. */
class Relay {
  server: net.Server;
  port = 0;
  sent = 0;
  /** Cut all connections once this many bytes went upstream (Infinity: never). */
  cutAfter = Infinity;
  cuts = 0;
  private readonly sockets = new Set<net.Socket>();
  constructor(target: number) {
    this.server = net.createServer((client) => {
      const upstream = net.connect(target, '127.0.0.1');
      this.sockets.add(client).add(upstream);
      client.on('data', (d: Buffer) => {
        this.sent += d.length;
        upstream.write(d);
        if (this.sent > this.cutAfter) {
          this.cutAfter = Infinity;
          this.cuts++;
          for (const s of this.sockets) s.destroy();
        }
      });
      upstream.on('data', (d: Buffer) => client.write(d));
      const close = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('close', close).on('error', close);
      upstream.on('close', close).on('error', close);
    });
  }
  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as net.AddressInfo).port;
  }
  close(): void {
    for (const s of this.sockets) s.destroy();
    this.server.close();
  }
}

interface Outcome {
  ok: boolean;
  status: number;
  body: string;
  url: string | null;
}

/** One tus-js-client run to its end (success or error; no automatic retries). */
function runTus(endpoint: string, data: Buffer, cookie: string, opts: { uploadUrl?: string; name?: string } = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const upload = new tus.Upload(data, {
      endpoint,
      uploadUrl: opts.uploadUrl,
      chunkSize: CHUNK,
      retryDelays: null,
      headers: { cookie },
      metadata: { filename: opts.name ?? 'clip.mp4', filetype: 'video/mp4' },
      onSuccess: ({ lastResponse }) => resolve({ ok: true, status: lastResponse.getStatus(), body: lastResponse.getBody(), url: upload.url }),
      onError: (err) => {
        const res = (err as tus.DetailedError).originalResponse;
        resolve({ ok: false, status: res?.getStatus() ?? 0, body: res?.getBody() ?? String(err), url: upload.url });
      },
    });
    upload.start();
  });
}

describe('resumable uploads (tus) on the real app', () => {
  let app: RunningApp;
  let relay: Relay;
  let editor: string;
  let outsider: string;
  let viewer: string;
  let project: { projectId: string; orgId: string };
  let media: Buffer;
  let playlist: Buffer;
  let tusDir: string;
  let sql: postgres.Sql;
  const work = mkdtempSync(path.join(tmpdir(), 'cm-tus-'));

  beforeAll(async () => {
    app = await startApp({ MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES) });
    tusDir = path.join(app.dataDir, 'tmp', 'tus');
    relay = new Relay(Number(new URL(app.url).port));
    await relay.listen();
    editor = await signUpUser(app.url, 'tus-editor@example.com');
    outsider = await signUpUser(app.url, 'tus-outsider@example.com');
    viewer = await signUpUser(app.url, 'tus-viewer@example.com');
    project = await createProject(app.url, editor, 'Resumable');
    sql = postgres(app.db.url, { max: 1, onnotice: () => {} });
    const [v] = await sql`select id from users where email = 'tus-viewer@example.com'`;
    await sql`insert into memberships (org_id, user_id, role) values (${project.orgId}, ${v!.id}, 'viewer')`;
    // ~3 MB of real video: a dozen chunks.
    const file = path.join(work, 'clip.mp4');
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30:duration=3', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=3', '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '10', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', file]);
    media = readFileSync(file);
    playlist = Buffer.from(`#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\n/etc/passwd\n#EXTINF:10.0,\nhttp://127.0.0.1:9/seg.ts\n#EXT-X-ENDLIST\n`);
  });
  afterAll(async () => {
    relay?.close();
    await sql?.end();
    await app?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  const endpoint = (base: string) => `${base}/api/projects/${project.projectId}/uploads`;
  const relayed = () => `http://127.0.0.1:${relay.port}`;
  const partials = () => (existsSync(tusDir) ? readdirSync(tusDir) : []);
  const assetCount = async () => Number((await sql`select count(*)::int as n from assets where project_id = ${project.projectId}`)[0]!.n);

  it('uploads in chunks, survives a cut connection, resumes from the offset, and stores the exact bytes', async () => {
    expect(media.length).toBeGreaterThan(8 * CHUNK);
    // 1. The relay cuts the connection ~45% of the way, inside a chunk.
    relay.sent = 0;
    relay.cutAfter = Math.floor(media.length * 0.45) + CHUNK / 2;
    const first = await runTus(endpoint(relayed()), media, editor);
    expect(first.ok, first.body).toBe(false);
    expect(relay.cuts).toBe(1);
    expect(first.url).toMatch(new RegExp(`/api/projects/${project.projectId}/uploads/[0-9a-f]{32}$`));
    const uploadPath = new URL(first.url!).pathname;

    // 2. The server kept what arrived: HEAD answers an offset inside the file.
    await new Promise((r) => setTimeout(r, 300));
    const head = await fetch(`${app.url}${uploadPath}`, { method: 'HEAD', headers: { cookie: editor, 'tus-resumable': '1.0.0' } });
    expect(head.status).toBe(200);
    const offset = Number(head.headers.get('upload-offset'));
    expect(offset).toBeGreaterThanOrEqual(4 * CHUNK);
    expect(offset).toBeLessThan(media.length);
    expect(Number(head.headers.get('upload-length'))).toBe(media.length);
    expect(partials()).toContain(path.basename(uploadPath));

    // 3. A new client resumes it: only the rest goes over the wire.
    relay.sent = 0;
    const second = await runTus(endpoint(relayed()), media, editor, { uploadUrl: `${relayed()}${uploadPath}` });
    expect(second.ok, second.body).toBe(true);
    expect(relay.sent).toBeGreaterThanOrEqual(media.length - offset);
    expect(relay.sent).toBeLessThan(media.length - offset + 64 * 1024); // + request headers
    const asset = JSON.parse(second.body) as { id: string; kind: string; name: string; durationFrames: number };
    expect(asset).toMatchObject({ kind: 'video', name: 'clip.mp4', durationFrames: 90 });

    // 4. The stored original is byte for byte the file; the partial upload is gone.
    const row = (await sql`select sha256, bytes from assets where id = ${asset.id}`)[0]!;
    expect(row.sha256).toBe(sha(media));
    expect(Number(row.bytes)).toBe(media.length);
    const stored = await fetch(`${app.url}/api/assets/${asset.id}/file`, { headers: { cookie: editor } });
    expect(stored.status).toBe(200);
    expect(sha(Buffer.from(await stored.arrayBuffer()))).toBe(sha(media));
    expect(partials()).toEqual([]);
    const gone = await fetch(`${app.url}${uploadPath}`, { method: 'HEAD', headers: { cookie: editor, 'tus-resumable': '1.0.0' } });
    expect(gone.status).toBe(404);
  });

  it('refuses the anonymous, outsiders and viewers, and no one but its creator touches an upload', async () => {
    const create = (cookie: string | null, length = 1000) =>
      fetch(endpoint(app.url), { method: 'POST', headers: { ...(cookie ? { cookie } : {}), 'tus-resumable': '1.0.0', 'upload-length': String(length) } });
    expect((await create(null)).status).toBe(401);
    const out = await create(outsider);
    expect(out.status).toBe(404); // an outsider cannot tell the project exists
    expect((await out.json()).message).toBe('Not found.');
    expect((await create(viewer)).status).toBe(403);

    // The editor's half-done upload: nobody else can read its offset, append or delete it.
    const mine = await create(editor, media.length);
    expect(mine.status).toBe(201);
    const loc = mine.headers.get('location')!;
    expect(loc).toMatch(/^\/api\/projects\/[0-9a-f-]{36}\/uploads\/[0-9a-f]{32}$/);
    const tusHeaders = { 'tus-resumable': '1.0.0' };
    const patch = (cookie: string, url = loc) => fetch(`${app.url}${url}`, { method: 'PATCH', headers: { cookie, ...tusHeaders, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }, body: new Uint8Array(media.subarray(0, CHUNK)) });
    for (const other of [outsider, viewer]) {
      expect((await fetch(`${app.url}${loc}`, { method: 'HEAD', headers: { cookie: other, ...tusHeaders } })).status).toBe(404);
      expect((await patch(other)).status).toBe(404);
      expect((await fetch(`${app.url}${loc}`, { method: 'DELETE', headers: { cookie: other, ...tusHeaders } })).status).toBe(404);
    }
    // Under another project's URL (one the outsider owns), the editor's upload id is not found either.
    const theirs = await createProject(app.url, outsider, 'Theirs');
    expect((await patch(outsider, loc.replace(project.projectId, theirs.projectId))).status).toBe(404);
    // A cross-site PATCH from the editor's own browser is refused before anything reads it.
    const cross = await fetch(`${app.url}${loc}`, { method: 'PATCH', headers: { cookie: editor, origin: 'https://evil.example', ...tusHeaders, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }, body: new Uint8Array(media.subarray(0, CHUNK)) });
    expect(cross.status).toBe(403);
    const head = await fetch(`${app.url}${loc}`, { method: 'HEAD', headers: { cookie: editor, ...tusHeaders } });
    expect(head.headers.get('upload-offset')).toBe('0');
    // Its creator cancels it: the partial file is deleted.
    expect((await fetch(`${app.url}${loc}`, { method: 'DELETE', headers: { cookie: editor, ...tusHeaders } })).status).toBe(204);
    expect(partials()).toEqual([]);
    // tus GET (download of a partial) is not offered.
    expect((await fetch(`${app.url}${loc}`, { headers: { cookie: editor } })).status).toBe(405);
  });

  it('refuses an Upload-Length over the limit on creation, before any body is sent', async () => {
    const res = await fetch(endpoint(app.url), { method: 'POST', headers: { cookie: editor, 'tus-resumable': '1.0.0', 'upload-length': String(MAX_UPLOAD_BYTES + 1) } });
    expect(res.status).toBe(413);
    expect((await res.json()).message).toBe('the file is larger than the 24 MB limit');
    const deferred = await fetch(endpoint(app.url), { method: 'POST', headers: { cookie: editor, 'tus-resumable': '1.0.0', 'upload-defer-length': '1' } });
    expect(deferred.status).toBe(400);
    // The real client sees the same refusal (and sends no PATCH).
    relay.sent = 0;
    const big = Buffer.alloc(MAX_UPLOAD_BYTES + 1);
    const r = await runTus(endpoint(relayed()), big, editor, { name: 'big.mp4' });
    expect(r.ok).toBe(false);
    expect(r.status).toBe(413);
    expect(relay.sent).toBeLessThan(4096); // the POST's headers, no body
    expect(partials()).toEqual([]);
  });

  it('a hostile HLS playlist is refused after its last byte, with its reason; nothing is stored', async () => {
    const before = await assetCount();
    const r = await runTus(endpoint(app.url), playlist, editor, { name: 'clip.mp4' });
    expect(r.ok).toBe(false);
    expect(r.status).toBe(400);
    const body = JSON.parse(r.body) as { code: string; message: string };
    expect(body.code).toBe('bad-request');
    expect(body.message).toMatch(/HLS playlist|refers to other|not accepted|self-contained/);
    expect(await assetCount()).toBe(before);
    expect(partials()).toEqual([]);
    const assetsDir = path.join(app.dataDir, 'storage', 'orgs', project.orgId, 'projects', project.projectId, 'assets');
    const storedIds = existsSync(assetsDir) ? readdirSync(assetsDir) : [];
    expect(storedIds.length).toBe(before); // only the first test's asset
  });

  it('a file the probe refuses is refused the same way as through the streamed POST', async () => {
    const junk = Buffer.from('not media at all '.repeat(100));
    const viaTus = await runTus(endpoint(app.url), junk, editor, { name: 'notes.mp4' });
    const viaPost = await fetch(`${app.url}/api/projects/${project.projectId}/assets`, { method: 'POST', headers: { cookie: editor, 'content-type': 'application/octet-stream', 'x-file-name': 'notes.mp4' }, body: junk });
    expect(viaTus.status).toBe(400);
    expect(viaPost.status).toBe(400);
    expect(JSON.parse(viaTus.body)).toEqual(await viaPost.json());
  });

  it('a partial upload older than UPLOAD_EXPIRY_HOURS is refused (410), then swept with its bytes', async () => {
    const res = await fetch(endpoint(app.url), { method: 'POST', headers: { cookie: editor, 'tus-resumable': '1.0.0', 'upload-length': String(media.length) } });
    expect(res.status).toBe(201);
    const loc = res.headers.get('location')!;
    const id = loc.split('/').pop()!;
    const tusHeaders = { cookie: editor, 'tus-resumable': '1.0.0' };
    const patch = (offset: number) => fetch(`${app.url}${loc}`, { method: 'PATCH', headers: { ...tusHeaders, 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' }, body: new Uint8Array(media.subarray(offset, offset + CHUNK)) });
    expect((await patch(0)).status).toBe(204);
    expect(partials()).toEqual(expect.arrayContaining([id, `${id}.json`]));
    const config = { DATA_DIR: app.dataDir, UPLOAD_EXPIRY_HOURS: 24 };
    expect(await sweepUploads({ config } as never)).toBe(0); // fresh: kept
    expect(await sweepUploads({ config } as never, Date.now() + 23 * 3600 * 1000)).toBe(0); // 23 h later: still kept
    expect(partials()).toContain(id);

    // The upload started 25 hours ago (its creation_date, which @tus/server and the sweep both read).
    const info = path.join(tusDir, `${id}.json`);
    const meta = JSON.parse(readFileSync(info, 'utf8')) as { creation_date: string };
    meta.creation_date = new Date(Date.now() - 25 * 3600 * 1000).toISOString();
    writeFileSync(info, JSON.stringify(meta));
    expect((await fetch(`${app.url}${loc}`, { method: 'HEAD', headers: tusHeaders })).status).toBe(410);
    expect((await patch(CHUNK)).status).toBe(410);

    // The app's sweep (at start and every 15 minutes) deletes it: data, .json, everything.
    expect(await sweepUploads({ config } as never)).toBe(1);
    expect(partials()).toEqual([]);
    expect((await fetch(`${app.url}${loc}`, { method: 'HEAD', headers: tusHeaders })).status).toBe(404);
  });
});

