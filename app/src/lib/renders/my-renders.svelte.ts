/**
 * The signed-in user's renders on every page (the tray in the top bar): their running and recent
 * renders across projects (renders.mine), live progress over the renders.onUpdate SSE subscription
 * while one runs, cancel, and a notice (plus a system notification when the tab is in the
 * background and the user allowed them) when one this page watched finishes.
 */
import { trpc } from '$lib/trpc';
import type { MyRenderView } from '$lib/server/services/renders';

const ACTIVE = new Set(['queued', 'rendering']);
export const isActive = (r: { status: string }) => ACTIVE.has(r.status);

export class MyRenders {
  renders = $state<MyRenderView[]>([]);
  /** Finished while watched here, newest first, until dismissed. */
  notices = $state<MyRenderView[]>([]);
  /** Why the last refresh or a cancel failed (shown next to the tray / the job). */
  error = $state<string | null>(null);
  jobErrors = $state<Record<string, string>>({});
  readonly active = $derived(this.renders.filter(isActive));
  private subs = new Map<string, { unsubscribe(): void }>();
  private destroyed = false;

  async refresh(): Promise<void> {
    try {
      const list = await trpc.renders.mine.query();
      if (this.destroyed) return;
      // A render already followed keeps its live figures until the stream says otherwise.
      const live = new Map(this.renders.filter((r) => this.subs.has(r.id)).map((r) => [r.id, r]));
      this.renders = list.map((r) => (isActive(r) && live.has(r.id) ? { ...r, ...pick(live.get(r.id)!) } : r));
      this.error = null;
      for (const r of this.renders) if (isActive(r)) this.follow(r.id);
    } catch (err) {
      this.error = err instanceof Error ? err.message : String(err);
    }
  }

  private follow(renderId: string): void {
    if (this.subs.has(renderId) || this.destroyed) return;
    const sub = trpc.renders.onUpdate.subscribe(
      { renderId },
      {
        onData: async (u) => {
          if (isActive(u)) {
            this.patch(renderId, pick(u));
            return;
          }
          this.stop(renderId);
          const fresh = await trpc.renders.get.query({ renderId }).catch(() => null);
          this.patch(renderId, fresh ?? pick(u));
          const r = this.renders.find((x) => x.id === renderId);
          if (r && r.status !== 'cancelled') this.notify(r);
        },
        onError: () => this.stop(renderId),
      },
    );
    this.subs.set(renderId, sub);
  }

  private patch(renderId: string, p: Partial<MyRenderView>): void {
    this.renders = this.renders.map((r) => (r.id === renderId ? { ...r, ...p } : r));
  }

  private stop(renderId: string): void {
    this.subs.get(renderId)?.unsubscribe();
    this.subs.delete(renderId);
  }

  private notify(r: MyRenderView): void {
    this.notices = [r, ...this.notices.filter((n) => n.id !== r.id)].slice(0, 3);
    try {
      if (typeof Notification !== 'undefined' && Notification.permission === 'granted' && document.visibilityState === 'hidden')
        new Notification(`${r.projectName} v${r.version} ${r.status === 'succeeded' ? 'is ready' : 'failed'}`, { body: r.error ?? 'Open ClipMaker to download it.' });
    } catch {
      /* notifications unavailable: the in-page notice stays */
    }
  }

  async cancel(renderId: string): Promise<void> {
    const { [renderId]: _, ...rest } = this.jobErrors;
    this.jobErrors = rest;
    try {
      const c = await trpc.renders.cancel.mutate({ renderId });
      this.stop(renderId);
      this.patch(renderId, c);
    } catch (err) {
      this.jobErrors = { ...this.jobErrors, [renderId]: err instanceof Error ? err.message : String(err) };
    }
  }

  dismiss(renderId: string): void {
    this.notices = this.notices.filter((n) => n.id !== renderId);
  }

  destroy(): void {
    this.destroyed = true;
    for (const id of [...this.subs.keys()]) this.stop(id);
  }
}

/** The live figures an update carries. */
function pick(u: Pick<MyRenderView, 'status' | 'stage' | 'percent' | 'fps' | 'etaSeconds' | 'error'>) {
  return { status: u.status, stage: u.stage, percent: u.percent, fps: u.fps, etaSeconds: u.etaSeconds, error: u.error };
}
