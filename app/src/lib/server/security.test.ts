import { describe, expect, it } from 'vitest';
import { collabOrigin, crossSiteRefusal, narrowConnectSrc } from './security.ts';

const APP = 'https://clips.example.com';
const h = (init: Record<string, string>) => new Headers(init);

describe('crossSiteRefusal', () => {
  it('lets safe methods through whatever their headers say', () => {
    expect(crossSiteRefusal('GET', h({ origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }), APP)).toBeNull();
    expect(crossSiteRefusal('HEAD', h({ 'sec-fetch-site': 'cross-site' }), APP)).toBeNull();
  });

  it('refuses cross-site and same-site state changes by Sec-Fetch-Site', () => {
    expect(crossSiteRefusal('POST', h({ 'sec-fetch-site': 'cross-site' }), APP)).toMatch(/cross-site POST refused/);
    expect(crossSiteRefusal('DELETE', h({ 'sec-fetch-site': 'same-site', origin: APP }), APP)).toMatch(/same-site/);
    expect(crossSiteRefusal('POST', h({ 'sec-fetch-site': 'same-origin', origin: APP }), APP)).toBeNull();
  });

  it('falls back to Origin, including the opaque null origin', () => {
    expect(crossSiteRefusal('POST', h({ origin: 'https://evil.example' }), APP)).toMatch(/Origin: https:\/\/evil.example/);
    expect(crossSiteRefusal('PUT', h({ origin: 'null' }), APP)).toMatch(/Origin: null/);
    expect(crossSiteRefusal('POST', h({ origin: 'https://clips.example.com:8443' }), APP)).not.toBeNull();
    expect(crossSiteRefusal('POST', h({ origin: APP }), APP)).toBeNull();
  });

  it('lets non-browser clients (no Origin, no Sec-Fetch-Site) through', () => {
    expect(crossSiteRefusal('POST', h({ 'content-type': 'application/json' }), APP)).toBeNull();
  });
});

describe('narrowConnectSrc', () => {
  const built = "default-src 'self'; connect-src 'self' blob: ws: wss:; script-src 'self' 'nonce-abc'";

  it('replaces the build-time ws:/wss: allowance with the collab origin only', () => {
    expect(narrowConnectSrc(built, 'wss://collab.example.com/path?x=1')).toBe("default-src 'self'; connect-src 'self' blob: wss://collab.example.com; script-src 'self' 'nonce-abc'");
    expect(narrowConnectSrc(built, 'ws://127.0.0.1:1234')).toContain("connect-src 'self' blob: ws://127.0.0.1:1234;");
  });

  it('keeps the header when the URL is missing or not a WebSocket URL', () => {
    expect(narrowConnectSrc(built, undefined)).toBe(built);
    expect(narrowConnectSrc(built, 'https://collab.example.com')).toBe(built);
    expect(narrowConnectSrc(built, 'not a url')).toBe(built);
    expect(collabOrigin("ws://a.example:1/'; script-src *")).toBe('ws://a.example:1');
    expect(collabOrigin('ws://a;script-src:1/')).toBeNull();
    expect(collabOrigin('wss://[::1]:1234')).toBe('wss://[::1]:1234');
  });
});
