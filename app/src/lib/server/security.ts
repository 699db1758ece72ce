/**
 * Pure request/response hardening used by hooks.server.ts: the cross-site check for state-changing
 * requests (CSRF), and narrowing the build-time CSP's WebSocket allowance to the collab-server.
 */

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The hardening headers every answer carries (hooks.server.ts sets them on SvelteKit's responses,
 * trpc/node.ts on the tRPC answers it writes itself). Cross-origin isolation (COOP/COEP) lets
 * ffmpeg.wasm use threads (SharedArrayBuffer); behind TLS (ORIGIN is https://) browsers must never
 * come back over plain http (HSTS). CSP is not here: SvelteKit sets it on pages (kit.csp).
 */
export function securityHeaders(origin: string | undefined): [string, string][] {
  const headers: [string, string][] = [
    ['Cross-Origin-Opener-Policy', 'same-origin'],
    ['Cross-Origin-Embedder-Policy', 'require-corp'],
    ['Cross-Origin-Resource-Policy', 'same-origin'],
    ['X-Content-Type-Options', 'nosniff'],
    ['Referrer-Policy', 'same-origin'],
    ['X-Frame-Options', 'DENY'],
    ['Permissions-Policy', 'camera=(), microphone=(), geolocation=()'],
  ];
  if (origin?.startsWith('https://')) headers.push(['Strict-Transport-Security', 'max-age=31536000']);
  return headers;
}

/**
 * Why a state-changing request must be refused as cross-site, or null when it may proceed.
 *
 * SvelteKit already refuses cross-origin form-encoded POSTs (form actions). tRPC mutations and the
 * upload endpoint take other content types, so every non-safe method is checked here as well:
 *  - Sec-Fetch-Site (sent by every current browser): only `same-origin` (or `none`, a user-typed
 *    navigation) passes; `same-site` is refused too, since a sibling subdomain is not this app.
 *  - else Origin, when present, must equal the app's origin (`null` included: sandboxed/opaque).
 * A request with neither header is not from a browser (curl, the render tools, tests): CSRF needs a
 * victim's browser to attach the cookie, and browsers send Origin on every cross-origin POST.
 */
export function crossSiteRefusal(method: string, headers: Pick<Headers, 'get'>, appOrigin: string): string | null {
  if (SAFE_METHODS.has(method.toUpperCase())) return null;
  const site = headers.get('sec-fetch-site');
  if (site !== null && site !== 'same-origin' && site !== 'none') return `cross-site ${method} refused (Sec-Fetch-Site: ${site})`;
  const origin = headers.get('origin');
  if (origin !== null && origin !== appOrigin) return `cross-site ${method} refused (Origin: ${origin.slice(0, 100)})`;
  return null;
}

/** The 403 for a refused cross-site request (`why` from crossSiteRefusal), the same on both request paths. */
export function crossSiteAnswer(why: string): Response {
  return new Response(JSON.stringify({ error: why }), { status: 403, headers: { 'content-type': 'application/json' } });
}

/** ws(s) origin of the collab-server's public URL, or null when it is not a ws/wss URL. */
export function collabOrigin(collabPublicUrl: string | undefined): string | null {
  if (!collabPublicUrl) return null;
  try {
    const u = new URL(collabPublicUrl);
    if (u.protocol !== 'ws:' && u.protocol !== 'wss:') return null;
    // A header value: only host characters (no `;` or quotes that would end the directive).
    if (!/^[A-Za-z0-9.\-[\]:]+$/.test(u.host)) return null;
    return `${u.protocol}//${u.host}`;
  } catch {
    return null;
  }
}

/**
 * svelte.config.js is evaluated at build time, when the collab-server's public URL is not known, so
 * its connect-src allows `ws: wss:`. At run time that allowance becomes exactly the configured
 * collab origin. Unknown or invalid URL: the header is returned unchanged (still 'self' + any ws).
 */
export function narrowConnectSrc(csp: string, collabPublicUrl: string | undefined): string {
  const origin = collabOrigin(collabPublicUrl);
  if (!origin) return csp;
  return csp
    .split(';')
    .map((directive) => {
      const parts = directive.trim().split(/\s+/);
      if (parts[0] !== 'connect-src') return directive.trim();
      const kept = parts.slice(1).filter((s) => s !== 'ws:' && s !== 'wss:');
      return ['connect-src', ...kept, origin].join(' ');
    })
    .filter(Boolean)
    .join('; ');
}
