// Container health checks without curl or redis-cli in the images (plain Node, no dependencies).
//   node docker/healthcheck.mjs http <url>   healthy when the URL answers 2xx within 4 s
//   node docker/healthcheck.mjs worker       healthy while this render worker beats: its heartbeat
//                                            hash (shared/jobs workerKey) has a lastSeen no older than
//                                            HEALTHCHECK_FRESH_INTERVALS of its intervals
import net from 'node:net';
import os from 'node:os';
import { HEALTHCHECK_FRESH_INTERVALS, HEARTBEAT_INTERVAL_MS, QUEUE_PREFIX, workerKey } from '../shared/jobs/contract.generated.mjs';

const [mode, arg] = process.argv.slice(2);

function done(ok, why) {
  if (!ok) console.error(`unhealthy: ${why}`);
  process.exit(ok ? 0 : 1);
}

/** One RESP command, one reply line (enough for AUTH, SELECT and an EVAL answering an integer). */
function redisCommands(url, commands) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const sock = net.connect(Number(u.port || 6379), u.hostname);
    const replies = [];
    let buf = '';
    const encode = (args) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
    sock.setTimeout(4000, () => sock.destroy(new Error('redis timeout')));
    sock.on('error', reject);
    sock.on('connect', () => sock.write(commands.map(encode).join('')));
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      let i;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        replies.push(buf.slice(0, i));
        buf = buf.slice(i + 2);
      }
      if (replies.length >= commands.length) {
        sock.end();
        resolve(replies);
      }
    });
  });
}

if (mode === 'http') {
  fetch(arg, { signal: AbortSignal.timeout(4000) }).then(
    (res) => done(res.ok, `${arg} answered ${res.status}`),
    (err) => done(false, `${arg}: ${err.message}`),
  );
} else if (mode === 'worker') {
  const url = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  const key = workerKey(process.env.QUEUE_PREFIX || QUEUE_PREFIX, process.env.WORKER_ID || os.hostname());
  // (render-farm-entrypoint.sh gives the worker the same default; a health check's exec does not see
  // what the entrypoint exported.)
  const u = new URL(url);
  const commands = [];
  if (u.password) commands.push(u.username ? ['AUTH', decodeURIComponent(u.username), decodeURIComponent(u.password)] : ['AUTH', decodeURIComponent(u.password)]);
  if (u.pathname.length > 1) commands.push(['SELECT', u.pathname.slice(1)]);
  // The hash outlives a dead worker (its grace period), so judge the age of its last beat.
  const fresh = `local b = redis.call('hmget', KEYS[1], 'lastSeen', 'intervalMs')
if not b[1] then return 0 end
local interval = tonumber(b[2]) or tonumber(ARGV[2])
return (tonumber(ARGV[1]) - tonumber(b[1]) <= tonumber(ARGV[3]) * interval) and 1 or 0`;
  commands.push(['EVAL', fresh, '1', key, String(Date.now()), String(HEARTBEAT_INTERVAL_MS), String(HEALTHCHECK_FRESH_INTERVALS)]);
  redisCommands(url, commands).then(
    (replies) => done(replies.at(-1) === ':1', `no recent heartbeat at ${key} (${replies.join(' | ')})`),
    (err) => done(false, `redis: ${err.message}`),
  );
} else {
  done(false, `usage: healthcheck.mjs http <url> | worker`);
}
