import { describe, expect, it } from 'vitest';
import { GateClosedError, PriorityGate } from './priority-gate.ts';

const tick = () => new Promise((r) => setImmediate(r));

describe('PriorityGate', () => {
  it('hands a freed slot to the highest priority waiter, FIFO within a priority', async () => {
    const gate = new PriorityGate(1, ['high', 'normal', 'low'] as const);
    const order: string[] = [];
    const first = await gate.acquire('low');
    const take = (p: 'high' | 'normal' | 'low', name: string) =>
      gate.acquire(p).then((release) => {
        order.push(name);
        release();
      });
    const all = Promise.all([take('low', 'low-1'), take('normal', 'normal-1'), take('high', 'high-1'), take('normal', 'normal-2')]);
    await tick();
    expect(order).toEqual([]);
    expect(gate.queued).toBe(4);
    first();
    await all;
    expect(order).toEqual(['high-1', 'normal-1', 'normal-2', 'low-1']);
    expect(gate.running).toBe(0);
  });

  it('runs up to its slot count at once and ignores a double release', async () => {
    const gate = new PriorityGate(2, ['a'] as const);
    const r1 = await gate.acquire('a');
    await gate.acquire('a');
    expect(gate.running).toBe(2);
    r1();
    r1();
    expect(gate.running).toBe(1);
  });

  it('rejects waiting and new acquisitions after close', async () => {
    const gate = new PriorityGate(1, ['a'] as const);
    await gate.acquire('a');
    const waiting = gate.acquire('a');
    gate.close();
    await expect(waiting).rejects.toBeInstanceOf(GateClosedError);
    await expect(gate.acquire('a')).rejects.toBeInstanceOf(GateClosedError);
  });
});
