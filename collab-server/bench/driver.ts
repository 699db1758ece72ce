/**
 * The client side of `pnpm bench:collab`, always in its own process (never the servers'): real
 * y-websocket clients (BroadcastChannel off). Config: a JSON file named by BENCH_DRIVER_FILE; result as one JSON
 * line on stdout. Modes:
 *  - idle: connect every client, print {"ready":true} once all are synced, hold until killed.
 *  - single: `warmup` edits (not sampled), then `edits` edits one at a time on doc 0, each awaited
 *    on every other client of the doc.
 *  - rate: every client edits `perSecond` times a second (jittered) for `seconds`; then waits until
 *    every edit reached every other client of its doc.
 * A sample is one (edit, remote client) pair: receive time - send time, same clock (this process).
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';

interface DriverConfig {
  mode: 'idle' | 'single' | 'rate';
  /** One entry per document: room name and, per client, the server URL and token. */
  docs: { room: string; clients: { url: string; token: string }[] }[];
  edits?: number;
  /** single: edits made (and awaited) before the measured ones, not sampled. */
  warmup?: number;
  perSecond?: number;
  seconds?: number;
}

const cfg = JSON.parse(readFileSync(process.env.BENCH_DRIVER_FILE!, 'utf8')) as DriverConfig;
process.setMaxListeners(0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(5);
  }
}

interface C {
  doc: Y.Doc;
  provider: WebsocketProvider;
  docIndex: number;
  index: number;
}

const clients: C[] = [];
const samples: number[] = [];
let received = 0;
let sent = 0;
/** Off during the warm-up edits. */
let recording = true;

for (const [docIndex, d] of cfg.docs.entries()) {
  for (const [index, spec] of d.clients.entries()) {
    const doc = new Y.Doc();
    const provider = new WebsocketProvider(spec.url, d.room, doc, { params: { token: spec.token }, WebSocketPolyfill: WebSocket as never, disableBc: true, maxBackoffTime: 1000 });
    const c: C = { doc, provider, docIndex, index };
    doc.getArray<string>('edits').observe((ev) => {
      if (ev.transaction.local) return;
      const now = performance.now();
      for (const delta of ev.changes.delta) {
        for (const item of (delta.insert as string[] | undefined) ?? []) {
          const [sender, at] = item.split(':');
          if (Number(sender) !== index) {
            if (recording) samples.push(now - Number(at));
            received++;
          }
        }
      }
    });
    clients.push(c);
    // Do not open thousands of sockets in one burst.
    if (clients.length % 200 === 0) await sleep(50);
  }
}
const edit = (c: C) => {
  c.doc.getArray<string>('edits').push([`${c.index}:${performance.now()}`]);
  sent++;
};

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]! * 100) / 100;
}

async function main(): Promise<void> {
  await waitFor(() => clients.every((c) => c.provider.synced), 300_000, 'clients synced');
  if (cfg.mode === 'idle') {
    process.stdout.write(`${JSON.stringify({ ready: true, clients: clients.length })}\n`);
    await new Promise(() => {});
  }
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const perDoc = cfg.docs.map((d) => d.clients.length);
  let expected = 0;
  if (cfg.mode === 'single') {
    const doc0 = clients.filter((c) => c.docIndex === 0);
    const warmup = cfg.warmup ?? 0;
    recording = warmup === 0;
    for (let k = 0; k < warmup + (cfg.edits ?? 100); k++) {
      if (k === warmup) recording = true;
      const target = received + doc0.length - 1;
      edit(doc0[k % doc0.length]!);
      await waitFor(() => received >= target, 20_000, 'single edit everywhere');
    }
    sent -= warmup;
  } else {
    const interval = 1000 / (cfg.perSecond ?? 4);
    const end = performance.now() + (cfg.seconds ?? 30) * 1000;
    await Promise.all(
      clients.map(async (c) => {
        await sleep(Math.random() * interval);
        while (performance.now() < end) {
          edit(c);
          expected += perDoc[c.docIndex]! - 1;
          await sleep(interval * (0.5 + Math.random()));
        }
      }),
    );
    await waitFor(() => received >= expected, 120_000, `all edits everywhere (${received}/${expected})`);
  }
  loop.disable();
  const s = [...samples].sort((a, b) => a - b);
  process.stdout.write(
    `${JSON.stringify({
      clients: clients.length,
      edits: sent,
      samples: s.length,
      p50_ms: pct(s, 50),
      p99_ms: pct(s, 99),
      max_ms: pct(s, 100),
      driver_event_loop_delay_p99_ms: Math.round(loop.percentile(99) / 1e4) / 100,
    })}\n`,
  );
  for (const c of clients) c.provider.destroy();
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`driver failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
