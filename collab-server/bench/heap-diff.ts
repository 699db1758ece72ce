/**
 * Diagnostic for the memory part of `pnpm bench:collab`: compares two V8 heap snapshots (the server
 * with N open idle documents vs the idle side-by-side server, both written by
 * BENCH_HEAP_SNAPSHOT_DIR) by object kind, so what one room, connection and client keeps is visible.
 *
 *   pnpm exec tsx collab-server/bench/heap-diff.ts open-500.heapsnapshot baseline-500.heapsnapshot [N] [top]
 *
 * Prints one line per (node type, constructor/name): count and self bytes in the first snapshot
 * minus the second, and per document (divided by N, default 500), largest first.
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

function summarize(file: string): Map<string, { count: number; bytes: number }> {
  const s = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = s.snapshot.meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const types = s.snapshot.meta.node_types[0];
  const out = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + typeAt]!]!;
    let name = s.strings[s.nodes[i + nameAt]!]!;
    // Strings and numbers: one bucket per type, not per value.
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string' || type === 'number' || type === 'heap number') name = '';
    else if (name.length > 60) name = `${name.slice(0, 57)}...`;
    const key = `${type}\t${name}`;
    const e = out.get(key) ?? { count: 0, bytes: 0 };
    e.count++;
    e.bytes += s.nodes[i + sizeAt]!;
    out.set(key, e);
  }
  return out;
}

const [a, b, n = '500', top = '60'] = process.argv.slice(2);
if (!a || !b) throw new Error('usage: heap-diff.ts <with-docs.heapsnapshot> <baseline.heapsnapshot> [documents] [top]');
const docs = Number(n);
const sa = summarize(a);
const sb = summarize(b);
const rows: { key: string; count: number; bytes: number }[] = [];
for (const key of new Set([...sa.keys(), ...sb.keys()])) {
  const x = sa.get(key) ?? { count: 0, bytes: 0 };
  const y = sb.get(key) ?? { count: 0, bytes: 0 };
  rows.push({ key, count: x.count - y.count, bytes: x.bytes - y.bytes });
}
rows.sort((p, q) => q.bytes - p.bytes);
const total = rows.reduce((t, r) => t + r.bytes, 0);
process.stdout.write(`total self bytes difference: ${total} (${(total / docs / 1024).toFixed(1)} KiB per document)\n`);
process.stdout.write('bytes/doc\tcount/doc\ttype\tname\n');
for (const r of rows.slice(0, Number(top))) process.stdout.write(`${(r.bytes / docs).toFixed(0)}\t${(r.count / docs).toFixed(2)}\t${r.key}\n`);
