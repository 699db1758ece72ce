/**
 * The GPUs a worker sees, from nvidia-smi when it is installed (NVIDIA driver hosts; the container
 * toolkit mounts it with NVIDIA_DRIVER_CAPABILITIES=utility). No nvidia-smi, or it fails: no GPUs.
 */
import type { GpuInfo } from '@clipmaker/shared/jobs';
import { execTool } from './ffmpeg/adapter.ts';

export const NVIDIA_SMI_QUERY = ['--query-gpu=name,driver_version,memory.total,memory.used,utilization.gpu', '--format=csv,noheader,nounits'];

const numberOrNull = (v: string | undefined): number | null => {
  const n = Number((v ?? '').trim());
  return v === undefined || /\[|N\/A|^\s*$/i.test(v) || !Number.isFinite(n) ? null : n;
};

/** Parses `nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used,utilization.gpu --format=csv,noheader,nounits`. */
export function parseNvidiaSmi(out: string): GpuInfo[] {
  const gpus: GpuInfo[] = [];
  for (const line of out.split(/\r?\n/)) {
    if (!line.trim()) continue;
    // The name may itself hold commas only in theory; the last four fields are fixed.
    const parts = line.split(',').map((p) => p.trim());
    if (parts.length < 5) continue;
    const [driver, total, used, util] = parts.slice(-4);
    const model = parts.slice(0, -4).join(', ');
    if (!model) continue;
    gpus.push({ model, driver: driver && !/N\/A/i.test(driver) ? driver : null, memoryTotalMiB: numberOrNull(total), memoryUsedMiB: numberOrNull(used), utilizationPercent: numberOrNull(util) });
  }
  return gpus;
}

/** The GPUs now (model, driver, memory, utilisation); [] without nvidia-smi. Bounded to 5 s. */
export async function queryGpus(binary = process.env.NVIDIA_SMI_PATH ?? 'nvidia-smi'): Promise<GpuInfo[]> {
  try {
    const r = await execTool(binary, NVIDIA_SMI_QUERY, { timeoutMs: 5000 });
    return r.code === 0 ? parseNvidiaSmi(r.stdout) : [];
  } catch {
    return [];
  }
}
