import { describe, expect, it } from 'vitest';
import { parseWorkerHeartbeat } from '@clipmaker/shared/jobs';
import { parseNvidiaSmi } from './gpu.ts';

// `nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used,utilization.gpu --format=csv,noheader,nounits`
// as printed by an H200 host, a two-GPU workstation, and a MIG-enabled A100 (utilisation not reported).
const H200 = 'NVIDIA H200, 550.54.15, 143771, 1, 0\n';
const TWO = 'NVIDIA GeForce RTX 4090, 535.183.01, 24564, 2113, 37\r\nNVIDIA GeForce RTX 3060, 535.183.01, 12288, 5, 0\r\n';
const MIG = 'NVIDIA A100-SXM4-80GB, 525.85.12, 81920, 0, [N/A]\n';

describe('parseNvidiaSmi', () => {
  it('reads model, driver, memory and utilisation of each GPU', () => {
    expect(parseNvidiaSmi(H200)).toEqual([{ model: 'NVIDIA H200', driver: '550.54.15', memoryTotalMiB: 143771, memoryUsedMiB: 1, utilizationPercent: 0 }]);
    expect(parseNvidiaSmi(TWO).map((g) => [g.model, g.memoryUsedMiB, g.utilizationPercent])).toEqual([
      ['NVIDIA GeForce RTX 4090', 2113, 37],
      ['NVIDIA GeForce RTX 3060', 5, 0],
    ]);
  });
  it('keeps a GPU whose figures are not available, and ignores what is not a GPU line', () => {
    expect(parseNvidiaSmi(MIG)).toEqual([{ model: 'NVIDIA A100-SXM4-80GB', driver: '525.85.12', memoryTotalMiB: 81920, memoryUsedMiB: 0, utilizationPercent: null }]);
    expect(parseNvidiaSmi('')).toEqual([]);
    expect(parseNvidiaSmi('NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver.\n')).toEqual([]);
  });
  it('the heartbeat carries them through the shared schema (live figures win over the probe\'s)', () => {
    const gpus = parseNvidiaSmi(H200);
    const beat = parseWorkerHeartbeat({ workerId: 'w', lastSeen: '1', capabilities: JSON.stringify({ targets: ['cuda', 'cpu'], gpus }), gpus: JSON.stringify([{ ...gpus[0], utilizationPercent: 93 }]) });
    expect(beat?.caps.gpus[0]?.model).toBe('NVIDIA H200');
    expect(beat?.liveGpus[0]?.utilizationPercent).toBe(93);
    expect(parseWorkerHeartbeat({ workerId: 'w', lastSeen: '1', capabilities: 'not json' })?.caps.targets).toEqual(['cpu']);
  });
});
