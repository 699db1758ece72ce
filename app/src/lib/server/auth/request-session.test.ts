import { describe, expect, it } from 'vitest';
import { cookieValue } from './request-session.ts';

/** What SvelteKit's `cookies.get` (the `cookie` package's parse, default decode) gives for the same headers. */
describe('cookieValue reads a Cookie header as SvelteKit does', () => {
  const cases: [string | undefined, string | undefined][] = [
    [undefined, undefined],
    ['', undefined],
    ['cm_session=abc', 'abc'],
    ['a=1; cm_session=abc; b=2', 'abc'],
    ['  cm_session =  abc  ;b=2', 'abc'],
    ['cm_session=first; cm_session=second', 'first'],
    ['cm_session="quoted"', 'quoted'],
    ['cm_session=a%20b', 'a b'],
    ['cm_session=%E0%A4%A', '%E0%A4%A'], // not valid percent-encoding: kept as it is
    ['xcm_session=no; cm_session_other=no', undefined],
    ['junk; cm_session=abc', 'abc'], // a pair without `=` is skipped
    ['cm_session', undefined],
    ['cm_session=', ''],
    ['a=b=c; cm_session=x=y', 'x=y'],
  ];
  for (const [header, want] of cases) {
    it(`${JSON.stringify(header)} -> ${JSON.stringify(want)}`, () => expect(cookieValue(header, 'cm_session')).toBe(want));
  }
});
