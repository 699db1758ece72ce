/**
 * Review comments out to the tools editors finish in: a spreadsheet CSV, DaVinci Resolve marker EDL
 * (File > Import > Timeline Markers from EDL) and FCPXML 1.9 markers (Final Cut Pro, Premiere Pro,
 * Resolve). Pure functions over the comment views; the timecodes are the player's SMPTE ones.
 */
import { smpte } from './annotation';

export interface ExportComment {
  id: string;
  frame: number;
  frameEnd?: number | null;
  authorName: string;
  text: string;
  resolved: boolean;
  parentId: string | null;
  createdAt: string;
}
export interface ExportMeta {
  title: string;
  version: number;
  fps: { num: number; den: number };
  durationFrames: number;
  width: number;
  height: number;
}
export const EXPORT_FORMATS = ['csv', 'edl', 'fcpxml'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

const rate = (m: ExportMeta) => m.fps.num / m.fps.den;
const threads = (cs: readonly ExportComment[]) => cs.filter((c) => !c.parentId).sort((a, b) => a.frame - b.frame || a.createdAt.localeCompare(b.createdAt));
const lastFrame = (c: ExportComment) => (c.frameEnd != null && c.frameEnd > c.frame ? c.frameEnd : c.frame);

/** RFC 4180: every field quoted, quotes doubled; a leading = + - @ is prefixed with ' so spreadsheets do not run it. */
function csvField(v: string | number): string {
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return `"${s.replace(/"/g, '""')}"`;
}
export function commentsCsv(cs: readonly ExportComment[], m: ExportMeta): string {
  const fps = rate(m);
  const head = ['Version', 'Frame', 'Last frame', 'Timecode in', 'Timecode last', 'Author', 'Comment', 'Status', 'Replies', 'Created'];
  const rows = threads(cs).map((c) => [
    m.version,
    c.frame,
    lastFrame(c),
    smpte(c.frame, fps),
    smpte(lastFrame(c), fps),
    c.authorName,
    c.text,
    c.resolved ? 'resolved' : 'open',
    cs.filter((r) => r.parentId === c.id).length,
    c.createdAt,
  ]);
  return [head, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}

/** One line, no EDL field separators, bounded. */
const oneLine = (s: string, max = 200) => s.replace(/[\r\n|]+/g, ' ').replace(/\s+/g, ' ').trim().slice(0, max);

/**
 * Resolve marker EDL: one event per thread, record in/out on the timeline, then the marker line
 * `|C:<colour> |M:<name> |D:<duration frames>`. Open comments are red, resolved ones green.
 */
export function resolveEdl(cs: readonly ExportComment[], m: ExportMeta): string {
  const fps = rate(m);
  const drop = smpte(0, fps).includes(';');
  const out = [`TITLE: ${oneLine(m.title, 70)} v${m.version}`, `FCM: ${drop ? 'DROP FRAME' : 'NON-DROP FRAME'}`, ''];
  threads(cs).forEach((c, i) => {
    const tin = smpte(c.frame, fps);
    const tout = smpte(lastFrame(c) + 1, fps);
    out.push(`${String(i + 1).padStart(3, '0')}  001      V     C        ${tin} ${tout} ${tin} ${tout}  `);
    out.push(` |C:${c.resolved ? 'ResolveColorGreen' : 'ResolveColorRed'} |M:${oneLine(`${c.authorName}: ${c.text}`)} |D:${lastFrame(c) - c.frame + 1}`);
    out.push('');
  });
  return out.join('\n');
}

const xml = (s: string) => s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[ch]!).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');

/** FCPXML 1.9: the render as an asset clip on a sequence, one marker per thread (duration = its range). */
export function fcpxml(cs: readonly ExportComment[], m: ExportMeta): string {
  const { num, den } = m.fps;
  const t = (frames: number) => (frames === 0 ? '0s' : `${frames * den}/${num}s`);
  const name = xml(`${m.title} v${m.version}`);
  const markers = threads(cs)
    .map((c) => `            <marker start="${t(c.frame)}" duration="${t(lastFrame(c) - c.frame + 1)}" value="${xml(oneLine(`${c.authorName}: ${c.text}`, 500))}"${c.resolved ? ' completed="1"' : ''}/>`)
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE fcpxml>
<fcpxml version="1.9">
  <resources>
    <format id="r1" frameDuration="${den}/${num}s" width="${m.width}" height="${m.height}"/>
    <asset id="r2" name="${name}" start="0s" duration="${t(m.durationFrames)}" hasVideo="1" format="r1"/>
  </resources>
  <library>
    <event name="${name} review">
      <project name="${name}">
        <sequence format="r1" duration="${t(m.durationFrames)}" tcStart="0s" tcFormat="${smpte(0, num / den).includes(';') ? 'DF' : 'NDF'}">
          <spine>
            <asset-clip ref="r2" offset="0s" name="${name}" start="0s" duration="${t(m.durationFrames)}" format="r1">
${markers}
            </asset-clip>
          </spine>
        </sequence>
      </project>
    </event>
  </library>
</fcpxml>
`;
}

export function exportComments(format: ExportFormat, cs: readonly ExportComment[], m: ExportMeta): { body: string; type: string; ext: string } {
  if (format === 'csv') return { body: commentsCsv(cs, m), type: 'text/csv; charset=utf-8', ext: 'csv' };
  if (format === 'edl') return { body: resolveEdl(cs, m), type: 'text/plain; charset=utf-8', ext: 'edl' };
  return { body: fcpxml(cs, m), type: 'application/xml; charset=utf-8', ext: 'fcpxml' };
}
