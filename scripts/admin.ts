/**
 * `pnpm admin <grant|revoke|list> [email] [--farm] [--instance]`: instance roles from a shell, for
 * the first set-up and for locked-out admins. No flag means both roles. Uses DATABASE_URL, or the
 * embedded PGlite under DATA_DIR (stop `pnpm start` first: PGlite has one owner at a time).
 *
 *   pnpm admin list                      every account with its instance roles
 *   pnpm admin grant ana@example.com     instance admin + farm admin
 *   pnpm admin revoke bo@example.com --farm
 *
 * `pnpm admin proxies [--failed]`: queues an edit proxy for every video that has none (uploaded before
 * proxies existed; with --failed, failed ones too), for the farm to make. Needs the queue's Redis
 * (REDIS_URL, QUEUE_PREFIX) reachable; the app may keep running (its bins show the progress).
 */
import { createDb } from '../drizzle/index.ts';
import { migrate } from '../drizzle/migrate.ts';
import { findUserIdByEmail, listInstanceUsers, setInstanceFlag, type InstanceFlag } from '../app/src/lib/server/services/accounts/instance-admin.ts';
import { ServiceError } from '../app/src/lib/server/services/errors.ts';
import { standalonePublisher } from '../app/src/lib/server/access-events.ts';
import { loadQueueConfig } from '../app/src/lib/server/config.ts';
import { RenderQueueProducer } from '../app/src/lib/server/queue.ts';
import { requestMissingEditProxies } from '../app/src/lib/server/services/edit-proxies.ts';

const USAGE = 'usage: pnpm admin <grant|revoke|list> [email] [--farm] [--instance] | pnpm admin proxies [--failed]';

export async function runAdmin(argv: string[], out: (line: string) => void = (l) => console.log(l)): Promise<number> {
  const [command, ...rest] = argv;
  const flags = rest.filter((a) => a.startsWith('--'));
  const email = rest.find((a) => !a.startsWith('--'));
  const known = command === 'proxies' ? ['--failed'] : ['--farm', '--instance'];
  const unknown = flags.filter((f) => !known.includes(f));
  if (!command || !['grant', 'revoke', 'list', 'proxies'].includes(command) || unknown.length || ((command === 'grant' || command === 'revoke') && !email) || (command === 'proxies' && email)) {
    out(USAGE);
    return 2;
  }
  const handle = await createDb({ max: 1 });
  // With REDIS_URL, a grant or revoke reaches the running app processes at once (their session caches
  // forget the user); without it (pnpm start's embedded Redis) they see it within SESSION_CACHE_MS.
  const pub = (command === 'grant' || command === 'revoke') && process.env.REDIS_URL ? standalonePublisher(process.env.REDIS_URL, process.env.QUEUE_PREFIX) : null;
  const announce = pub?.publisher;
  try {
    await migrate(handle);
    const db = handle.db;
    if (command === 'proxies') return await queueMissingProxies(handle, flags.includes('--failed'), out);
    if (command === 'list') {
      const users = await listInstanceUsers(db, { search: email });
      if (users.length === 0) out('no accounts yet (the first one to sign up becomes instance admin)');
      for (const u of users) out(`${u.email}\t${u.name}\t${[u.isInstanceAdmin && 'instance-admin', u.isFarmAdmin && 'farm-admin'].filter(Boolean).join(',') || '-'}`);
      return 0;
    }
    const userId = await findUserIdByEmail(db, email!);
    if (!userId) {
      out(`no account with email ${email}`);
      return 1;
    }
    const which: InstanceFlag[] = flags.length === 0 ? ['instanceAdmin', 'farmAdmin'] : [...(flags.includes('--instance') ? (['instanceAdmin'] as const) : []), ...(flags.includes('--farm') ? (['farmAdmin'] as const) : [])];
    let last = null;
    for (const flag of which) last = await setInstanceFlag(db, null, { userId, flag, value: command === 'grant' }, announce);
    out(`${email}: instance admin ${last!.isInstanceAdmin ? 'yes' : 'no'}, farm admin ${last!.isFarmAdmin ? 'yes' : 'no'}`);
    return 0;
  } catch (err) {
    if (err instanceof ServiceError) {
      out(err.message);
      return 1;
    }
    throw err;
  } finally {
    pub?.close();
    await handle.close();
  }
}

async function queueMissingProxies(handle: Awaited<ReturnType<typeof createDb>>, failed: boolean, out: (line: string) => void): Promise<number> {
  const config = loadQueueConfig(process.env);
  const queue = new RenderQueueProducer(config.REDIS_URL, config.QUEUE_PREFIX);
  try {
    // Nothing is marked failed for want of a queue: without Redis, stop before touching a row.
    const reachable = await Promise.race([queue.ready().then(() => queue.readiness()), new Promise<null>((r) => setTimeout(() => r(null), 10_000).unref())]);
    if (!reachable?.ok) {
      out(`the render queue is not reachable at ${config.REDIS_URL}${reachable?.error ? ` (${reachable.error})` : ''}; nothing was queued`);
      return 1;
    }
    const n = await requestMissingEditProxies({ db: handle, queue, config }, { failed });
    out(`${n.assets} video${n.assets === 1 ? '' : 's'} without a proxy: ${n.queued} queued, ${n.encoding} encoding, ${n.ready} ready (shared with a copy), ${n.failed} failed`);
    return n.failed > 0 ? 1 : 0;
  } finally {
    await queue.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await runAdmin(process.argv.slice(2));
}
