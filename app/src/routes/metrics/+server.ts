/**
 * Prometheus scrape endpoint. When METRICS_TOKEN is set, a scraper must send
 * `Authorization: Bearer <token>`; otherwise keep it off the public network at the proxy.
 */
import { timingSafeEqual } from 'node:crypto';
import { getContext } from '$lib/server/context';
import { installMetrics } from '$lib/server/metrics';
import type { RequestHandler } from './$types';

function authorized(header: string | null): boolean {
  const token = process.env.METRICS_TOKEN;
  if (!token) return true;
  const a = Buffer.from(`Bearer ${token}`);
  const b = Buffer.from(header ?? '');
  return a.length === b.length && timingSafeEqual(a, b);
}

export const GET: RequestHandler = async ({ request }) => {
  if (!authorized(request.headers.get('authorization'))) return new Response('unauthorized\n', { status: 401 });
  const { registry } = installMetrics(await getContext());
  return new Response(await registry.metrics(), { headers: { 'content-type': registry.contentType, 'cache-control': 'no-store' } });
};
