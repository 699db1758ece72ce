/**
 * The app's render side as its own process, for fault tests that stop and restart "the app": the
 * real server context (createContext: queue producer with job events, render event handling, the
 * reconciler, exactly as the SvelteKit server composes them) driven over IPC by the test.
 *   env: DATABASE_URL, REDIS_URL, QUEUE_PREFIX, STORAGE_DIR, RENDER_RECONCILE_INTERVAL_MS, ...
 *   IPC in:  { id, op: 'submit', userId, projectId } | { id, op: 'readiness' }
 *   IPC out: { op: 'started' } once the context exists; { id, ok, value | error } per request
 * Run with `node --import tsx app/test/support/render-app.ts`.
 */
import { createContext } from '../../src/lib/server/context.ts';
import { createRender } from '../../src/lib/server/services/renders.ts';

interface Request {
  id: number;
  op: 'submit' | 'readiness';
  userId?: string;
  projectId?: string;
}

const ctx = await createContext();
process.send?.({ op: 'started' });

process.on('message', (raw) => {
  const req = raw as Request;
  const work =
    req.op === 'submit'
      ? createRender(ctx, req.userId!, { projectId: req.projectId!, stateVector: null }).then((v) => v.id)
      : ctx.queue.readiness();
  work.then(
    (value) => process.send?.({ id: req.id, ok: true, value }),
    (err: unknown) => process.send?.({ id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
process.on('disconnect', () => process.exit(0));
