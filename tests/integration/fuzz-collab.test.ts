/**
 * Fuzz: >= 10,000 malformed WebSocket frames (random bytes, truncated varints, huge lengths, unknown
 * message and sync types, garbage updates/awareness/state vectors, text frames, oversize frames) sent
 * over many authenticated connections to the real collab-server process (`collab-server/src/main.ts`
 * against a test Postgres). The process stays up and healthy, well-behaved clients keep syncing and
 * their edits are stored, no connection leaks, and memory stays bounded. Deterministic (seeded).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createTestDb, type TestDb } from '../support/db.ts';
import { freePort } from '../support/app-server.ts';
import { SECRET, connectClient, newProject, rawSocket, savedItems, synced, token, waitFor, type Client } from '../../collab-server/test/integration/support.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const FRAMES = 10_000;
const PER_CONNECTION = 50;
const LANES = 4;
const MAX_MESSAGE_BYTES = 64 * 1024;

function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n) };
}
type Rng = ReturnType<typeof rng>;

function varUint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push(0x80 | (n % 128));
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
const bytes = (r: Rng, n: number) => Array.from({ length: n }, () => r.int(256));

/** One malformed (or merely odd) frame and its kind. */
function badFrame(r: Rng): [string, Uint8Array | string] {
  switch (r.int(12)) {
    case 0:
      return ['random', new Uint8Array(bytes(r, r.int(64)))];
    case 1:
      return ['truncated-varint', new Uint8Array(Array.from({ length: 1 + r.int(12) }, () => 0x80 | r.int(128)))];
    case 2: // a sync update claiming 2^32..2^53 bytes
      return ['huge-length', new Uint8Array([0, 2, ...varUint(2 ** (32 + r.int(21)) + r.int(1000)), ...bytes(r, r.int(16))])];
    case 3:
      return ['unknown-type', new Uint8Array([...varUint(4 + r.int(100_000)), ...bytes(r, r.int(16))])];
    case 4:
      return ['unknown-sync-type', new Uint8Array([0, ...varUint(3 + r.int(1000)), 1, 0])];
    case 5: {
      const payload = bytes(r, r.int(48));
      return ['garbage-update', new Uint8Array([0, 1 + r.int(2), ...varUint(payload.length), ...payload])];
    }
    case 6: {
      const payload = bytes(r, r.int(48));
      return ['garbage-awareness', new Uint8Array([1, ...varUint(payload.length), ...payload])];
    }
    case 7: {
      const payload = bytes(r, 1 + r.int(32));
      return ['garbage-state-vector', new Uint8Array([0, 0, ...varUint(payload.length), ...payload])];
    }
    case 8:
      return ['text', String.fromCharCode(...Array.from({ length: r.int(40) }, () => r.int(0xd7ff)))];
    case 9:
      return ['length-past-end', new Uint8Array([0, 2, ...varUint(10 + r.int(1000)), ...bytes(r, r.int(8))])];
    case 10:
      return r.next() < 0.1 ? ['oversize', new Uint8Array(MAX_MESSAGE_BYTES + 1 + r.int(4096))] : ['empty', new Uint8Array(0)];
    default:
      return ['benign', new Uint8Array(r.next() < 0.5 ? [3] : [2])]; // query-awareness / auth
  }
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

function rssKb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

describe('collab-server under 10,000 malformed frames', () => {
  let t: TestDb;
  let child: ChildProcess;
  let http: string;
  let ws: string;
  let logs = '';
  const clients: Client[] = [];

  beforeAll(async () => {
    t = await createTestDb();
    const port = await freePort();
    child = spawn(process.execPath, ['--import', 'tsx', 'collab-server/src/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: 'test', DATABASE_URL: t.url, COLLAB_PORT: String(port), COLLAB_HOST: '127.0.0.1', COLLAB_SECRET: SECRET, COLLAB_MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES), LOG_LEVEL: 'error' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => (logs = (logs + d.toString()).slice(-20_000)));
    child.stderr!.on('data', (d: Buffer) => (logs = (logs + d.toString()).slice(-20_000)));
    http = `http://127.0.0.1:${port}`;
    ws = `ws://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${http}/health`).catch(() => null))?.ok === true, 30_000, 'collab-server health');
  });

  afterAll(async () => {
    for (const c of clients) c.destroy();
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    await t?.dispose();
  });

  it('stays up, keeps syncing well-behaved editors, leaks no connection, and memory stays bounded', async () => {
    const p = await newProject(t.handle.db);
    const a = connectClient(ws, p, await token(p, 'editor'));
    const b = connectClient(ws, p, await token(p, 'editor'));
    clients.push(a, b);
    await Promise.all([synced(a), synced(b)]);
    a.push('before');
    await waitFor(() => b.items().includes('before'), 10_000, 'sync before the storm');
    const baseConnections = await metric(http, 'collab_connections');
    const rssBefore = rssKb(child.pid!);

    const r = rng(0xc0ffee);
    const kinds = new Map<string, number>();
    let sent = 0;
    let connections = 0;
    let peakRss = rssBefore;
    const lane = async (id: number) => {
      while (sent < FRAMES) {
        const sock = rawSocket(ws, p, await token(p, 'editor'));
        sock.on('error', () => {});
        const done = new Promise<void>((resolve) => sock.once('close', () => resolve()));
        await new Promise<void>((resolve) => {
          sock.once('open', () => resolve());
          sock.once('close', () => resolve());
        });
        connections++;
        if (sock.readyState === sock.OPEN) {
          for (let k = 0; k < PER_CONNECTION && sent < FRAMES; k++) {
            const [kind, f] = badFrame(r);
            kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
            sock.send(f, { binary: typeof f !== 'string' });
            sent++;
          }
        }
        // The server closes on the first bad frame; a batch of only benign frames is closed by us.
        const t0 = setTimeout(() => sock.terminate(), 2000);
        await done;
        clearTimeout(t0);
        if (id === 0 && connections % 20 === 0) peakRss = Math.max(peakRss, rssKb(child.pid!));
        // Well-behaved editors keep syncing in the middle of the storm.
        if (id === 0 && connections % 40 === 0) {
          const tag = `mid-${connections}`;
          b.push(tag);
          await waitFor(() => a.items().includes(tag), 10_000, `sync during the storm (${tag})`);
        }
      }
    };
    await Promise.all(Array.from({ length: LANES }, (_, i) => lane(i)));

    expect(sent).toBeGreaterThanOrEqual(FRAMES);
    expect(connections).toBeGreaterThanOrEqual(FRAMES / PER_CONNECTION);
    expect(kinds.size).toBeGreaterThanOrEqual(12);
    expect(child.exitCode, logs).toBeNull();
    expect((await fetch(`${http}/health`)).status).toBe(200);

    a.push('after');
    b.push('after-b');
    await waitFor(() => b.items().includes('after') && a.items().includes('after-b'), 10_000, 'sync after the storm');
    await waitFor(async () => (await savedItems(t.handle.db, p)).includes('after-b'), 10_000, 'edits stored');
    const saved = await savedItems(t.handle.db, p);
    expect(saved.filter((x) => !x.startsWith('mid-')).sort()).toEqual(['after', 'after-b', 'before']);
    // Every fuzzing socket is gone; only the two editors remain.
    await waitFor(async () => (await metric(http, 'collab_connections')) === baseConnections, 10_000, 'connections back to the two editors');
    expect(await metric(http, 'collab_messages_rejected_total')).toBeGreaterThan(100);
    const rssAfter = rssKb(child.pid!);
    peakRss = Math.max(peakRss, rssAfter);
    // Bounded: a few oversize frames are 64 KiB each; nothing accumulates per frame or per connection.
    expect(peakRss - rssBefore, `rss ${rssBefore} -> peak ${peakRss} -> ${rssAfter} kB`).toBeLessThan(200 * 1024);
    console.log(`fuzz-collab: ${sent} frames over ${connections} connections (${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}); rss ${Math.round(rssBefore / 1024)} -> peak ${Math.round(peakRss / 1024)} -> ${Math.round(rssAfter / 1024)} MB`);
  });
});
