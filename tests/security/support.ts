/** Small tools the attack tests share: the repository's string literals, raw HTTP, process RSS. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * Every string literal an attacker reading the repository could try as a secret: quoted strings
 * ('…', "…", `…` without interpolation) and bare `NAME=value` / `name: value` values from every
 * tracked text file (sources, tests, docs, compose, scripts, lockfile).
 */
export function repositoryLiterals(): string[] {
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
  const found = new Set<string>();
  for (const f of files) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path.join(ROOT, f));
    } catch {
      continue; // deleted in the work tree
    }
    if (bytes.includes(0)) continue; // binary (fonts)
    const text = bytes.toString('utf8');
    for (const m of text.matchAll(/'((?:[^'\\\n]|\\.){1,300})'|"((?:[^"\\\n]|\\.){1,300})"|`([^`$\\]{1,300})`/g)) found.add((m[1] ?? m[2] ?? m[3])!);
    for (const m of text.matchAll(/^\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_.-]*\s*[=:]\s*([^\s'"`#]{1,300})\s*$/gm)) found.add(m[1]!);
  }
  return [...found];
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

/** The status a WebSocket upgrade to `url` gets (101 when it would be accepted). */
export function upgradeStatus(url: string): Promise<number> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(u.port), u.hostname);
    let buf = '';
    sock.setTimeout(10_000, () => sock.destroy(new Error('upgrade timeout')));
    sock.once('error', reject);
    sock.on('connect', () =>
      sock.write(`GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`),
    );
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(buf);
      if (m) {
        sock.destroy();
        resolve(Number(m[1]));
      }
    });
  });
}

/** Resident set size of a process in bytes, from /proc (what the kernel holds for it now). */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

export function cookieOf(res: Response, name = 'cm_session'): string {
  const m = new RegExp(`${name}=([^;]*)`).exec(res.headers.get('set-cookie') ?? '');
  if (!m) throw new Error(`no ${name} cookie in ${res.headers.get('set-cookie')}`);
  return `${name}=${m[1]}`;
}

/** A same-origin form POST as a browser sends it (Origin set, no redirects followed). */
export function postForm(base: string, p: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}${p}`, { method: 'POST', body: new URLSearchParams(fields), headers: { origin: base, accept: 'text/html', ...headers }, redirect: 'manual' });
}

/** Signs a new user up through the real form; returns the session cookie. */
export async function signUpUser(base: string, email: string, password = 'long enough pw', name = 'Tester', headers: Record<string, string> = {}): Promise<string> {
  const res = await postForm(base, '/signup', { name, email, password }, headers);
  if (res.status !== 303) throw new Error(`sign-up of ${email}: ${res.status} ${(await res.text()).slice(0, 300)}`);
  return cookieOf(res);
}

/** A tRPC call over HTTP as the browser client makes it. */
export async function trpc(base: string, cookie: string, pathName: string, input: unknown, kind: 'query' | 'mutation'): Promise<Response> {
  const headers = { cookie, origin: base, 'sec-fetch-site': 'same-origin', 'content-type': 'application/json' };
  if (kind === 'query') return fetch(`${base}/api/trpc/${pathName}?input=${encodeURIComponent(JSON.stringify(input))}`, { headers });
  return fetch(`${base}/api/trpc/${pathName}`, { method: 'POST', body: JSON.stringify(input), headers });
}

/**
 * Streams `totalBytes` of body to `url` (generated as the client sends it, never held in memory) and
 * resolves with the status as soon as the response arrives, with how many bytes the server had
 * pulled from the client by then. `declareLength`: a Content-Length header, else chunked.
 */
export async function streamBody(url: string, totalBytes: number, headers: Record<string, string>, opts: { declareLength: boolean }): Promise<{ status: number; sentBytes: number; ms: number; body: string }> {
  const started = Date.now();
  const chunk = new Uint8Array(64 * 1024).fill(0x61);
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= totalBytes) return controller.close();
      const n = Math.min(chunk.length, totalBytes - sent);
      sent += n;
      controller.enqueue(n === chunk.length ? chunk : chunk.subarray(0, n));
    },
  });
  const ac = new AbortController();
  const res = await fetch(url, { method: 'POST', body, headers: { ...headers, ...(opts.declareLength ? { 'content-length': String(totalBytes) } : {}) }, duplex: 'half', signal: ac.signal } as RequestInit);
  const at = sent;
  const text = await res.text().catch(() => '');
  ac.abort();
  return { status: res.status, sentBytes: at, ms: Date.now() - started, body: text };
}

/** Creates a project through tRPC as `cookie`'s user; returns its id and org id. */
export async function createProject(base: string, cookie: string, name = 'Attack target'): Promise<{ projectId: string; orgId: string }> {
  const res = await trpc(base, cookie, 'projects.create', { name }, 'mutation');
  if (res.status !== 200) throw new Error(`projects.create: ${res.status} ${await res.text()}`);
  const p = ((await res.json()) as { result: { data: { id: string; orgId: string } } }).result.data;
  return { projectId: p.id, orgId: p.orgId };
}

/**
 * A finished render of `projectId` (row in the database, output file in the app's storage), as the
 * farm would leave it: returns its id and output key.
 */
export async function seedRender(sql: import('postgres').Sql, dataDir: string, project: { projectId: string; orgId: string }, bytes = 'fake mp4 bytes'): Promise<{ renderId: string; outputKey: string }> {
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const renderId = crypto.randomUUID();
  const outputKey = `renders/${renderId}/output.mp4`;
  mkdirSync(path.join(dataDir, 'storage', 'renders', renderId), { recursive: true });
  writeFileSync(path.join(dataDir, 'storage', outputKey), bytes);
  const [{ v }] = (await sql`select coalesce(max(version), 0) + 1 as v from renders where project_id = ${project.projectId}`) as unknown as [{ v: number }];
  await sql`insert into renders (id, project_id, org_id, version, status, stage, progress, spec_key, output_prefix, output_key, duration_frames)
            values (${renderId}, ${project.projectId}, ${project.orgId}, ${v}, 'succeeded', 'done', 100, ${`renders/${renderId}/spec.json`}, ${`renders/${renderId}`}, ${outputKey}, 60)`;
  return { renderId, outputKey };
}

/** Every /api/files URL in an HTML page (as the browser would resolve them). */
export function fileUrlsIn(html: string): string[] {
  return [...html.matchAll(/\/api\/files\?[^"'\s<>\\]+/g)].map((m) => m[0].replace(/&amp;/g, '&'));
}
