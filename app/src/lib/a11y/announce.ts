/**
 * What live regions say. A render's progress is announced in quarter steps, not on every percent
 * (a screen reader would read nothing else), and each state change once.
 */
export interface RenderLike {
  version: number;
  status: string;
  percent: number;
}

export function renderAnnouncement(r: RenderLike): string {
  if (r.status === 'rendering') return `Render v${r.version} rendering, ${Math.floor(Math.max(0, Math.min(100, r.percent)) / 25) * 25}%`;
  return `Render v${r.version} ${r.status}`;
}
