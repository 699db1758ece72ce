import { describe, expect, it } from 'vitest';
import { commentsCsv, fcpxml, resolveEdl, type ExportComment, type ExportMeta } from './export';

const meta: ExportMeta = { title: 'Spring "promo" & co', version: 3, fps: { num: 30, den: 1 }, durationFrames: 330, width: 1920, height: 1080 };
const cs: ExportComment[] = [
  { id: 'b', frame: 300, frameEnd: null, authorName: 'Carla', text: 'Cut here', resolved: true, parentId: null, createdAt: '2026-01-01T00:00:02Z' },
  { id: 'a', frame: 45, frameEnd: null, authorName: 'Carla', text: 'Logo, "too" big\nsecond line', resolved: false, parentId: null, createdAt: '2026-01-01T00:00:01Z' },
  { id: 'c', frame: 60, frameEnd: 90, authorName: 'Dan', text: '=HYPERLINK("x") | dark', resolved: false, parentId: null, createdAt: '2026-01-01T00:00:03Z' },
  { id: 'r', frame: 45, frameEnd: null, authorName: 'Olivia', text: 'fixed', resolved: false, parentId: 'a', createdAt: '2026-01-01T00:00:04Z' },
];

/** RFC 4180 reader (quoted fields, doubled quotes, CRLF), to read the export back. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') row.push(field), (field = '');
    else if (ch === '\r' && text[i + 1] === '\n') row.push(field), rows.push(row), (row = []), (field = ''), i++;
    else field += ch;
  }
  return rows;
}

describe('review exports', () => {
  it('CSV: one row per thread in timecode order, ranges, reply counts, formula-safe', () => {
    const rows = parseCsv(commentsCsv(cs, meta));
    expect(rows[0]).toEqual(['Version', 'Frame', 'Last frame', 'Timecode in', 'Timecode last', 'Author', 'Comment', 'Status', 'Replies', 'Created']);
    expect(rows.slice(1).map((r) => [r[1], r[2], r[3], r[4], r[5], r[7], r[8]])).toEqual([
      ['45', '45', '00:00:01:15', '00:00:01:15', 'Carla', 'open', '1'],
      ['60', '90', '00:00:02:00', '00:00:03:00', 'Dan', 'open', '0'],
      ['300', '300', '00:00:10:00', '00:00:10:00', 'Carla', 'resolved', '0'],
    ]);
    expect(rows[1]![6]).toBe('Logo, "too" big\nsecond line');
    expect(rows[2]![6]).toBe(`'=HYPERLINK("x") | dark`);
  });

  it('Resolve EDL: events with record in/out and |C |M |D marker lines', () => {
    const edl = resolveEdl(cs, meta);
    expect(edl.split('\n').slice(0, 2)).toEqual(['TITLE: Spring "promo" & co v3', 'FCM: NON-DROP FRAME']);
    const events = [...edl.matchAll(/^(\d{3})  001\s+V\s+C\s+(\S+) (\S+) (\S+) (\S+)\s*\n \|C:(\w+) \|M:(.*) \|D:(\d+)$/gm)].map((m) => m.slice(1));
    expect(events).toEqual([
      ['001', '00:00:01:15', '00:00:01:16', '00:00:01:15', '00:00:01:16', 'ResolveColorRed', 'Carla: Logo, "too" big second line', '1'],
      ['002', '00:00:02:00', '00:00:03:01', '00:00:02:00', '00:00:03:01', 'ResolveColorRed', 'Dan: =HYPERLINK("x") dark', '31'],
      ['003', '00:00:10:00', '00:00:10:01', '00:00:10:00', '00:00:10:01', 'ResolveColorGreen', 'Carla: Cut here', '1'],
    ]);
  });

  it('FCPXML: rational times at the render rate, escaped names, one marker per thread', () => {
    const x = fcpxml(cs, { ...meta, fps: { num: 30000, den: 1001 } });
    expect(x).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<!DOCTYPE fcpxml>\n<fcpxml version="1.9">/);
    expect(x).toContain('<format id="r1" frameDuration="1001/30000s" width="1920" height="1080"/>');
    expect(x).toContain('name="Spring &quot;promo&quot; &amp; co v3"');
    const markers = [...x.matchAll(/<marker start="([^"]+)" duration="([^"]+)" value="([^"]*)"( completed="1")?\/>/g)].map((m) => [m[1], m[2], m[3], !!m[4]]);
    expect(markers).toEqual([
      [`${45 * 1001}/30000s`, '1001/30000s', 'Carla: Logo, &quot;too&quot; big second line', false],
      [`${60 * 1001}/30000s`, `${31 * 1001}/30000s`, 'Dan: =HYPERLINK(&quot;x&quot;) dark', false],
      [`${300 * 1001}/30000s`, '1001/30000s', 'Carla: Cut here', true],
    ]);
    expect(x).toContain('tcFormat="DF"');
    // Balanced elements (a real XML parse is in tests/browser/review-player.test.ts, in Chromium).
    for (const tag of ['fcpxml', 'resources', 'library', 'event', 'project', 'sequence', 'spine', 'asset-clip']) {
      expect(x.split(`<${tag}`).length - 1).toBe(1);
      expect(x.split(`</${tag}>`).length - 1).toBe(1);
    }
  });
});
