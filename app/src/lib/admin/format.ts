/** Small display helpers for the admin console. */
export function age(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
  return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
}
export function when(iso: string | null): string {
  return iso ? new Date(iso).toISOString().replace('T', ' ').slice(0, 19) : '—';
}
