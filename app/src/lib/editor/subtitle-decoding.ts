/**
 * Which text encoding a subtitle file is in, and its text. Runs in the browser (the import dialog
 * decodes the user's file before anything is sent anywhere), so it lives in app/, not in shared/.
 *
 * Order: a byte-order mark (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE) decides; then BOM-less UTF-32/UTF-16
 * by their zero bytes (subtitle files are full of ASCII digits, colons and arrows); then valid UTF-8;
 * then jschardet (the detector VS Code uses) for the legacy code pages: Windows-1251/1252/1250,
 * KOI8-R, ISO-8859-x, Shift_JIS, GB18030, Big5, EUC-KR … Decoding is the platform's TextDecoder
 * (WHATWG Encoding), except UTF-32, which WHATWG dropped: its 4-byte units are read as code points.
 */
export type DetectionSource = 'bom' | 'zero-bytes' | 'utf-8' | 'detector' | 'fallback';

export interface DetectedEncoding {
  /** A WHATWG encoding label, or 'utf-32le' / 'utf-32be'. */
  encoding: string;
  /** 0..1 */
  confidence: number;
  source: DetectionSource;
}

/** What the import dialog offers; `value` is what decodeSubtitleBytes accepts. */
export const SUBTITLE_ENCODINGS: { value: string; label: string }[] = [
  { value: 'utf-8', label: 'UTF-8' },
  { value: 'utf-16le', label: 'UTF-16 LE' },
  { value: 'utf-16be', label: 'UTF-16 BE' },
  { value: 'utf-32le', label: 'UTF-32 LE' },
  { value: 'utf-32be', label: 'UTF-32 BE' },
  { value: 'windows-1251', label: 'Windows-1251 (Cyrillic)' },
  { value: 'koi8-r', label: 'KOI8-R (Russian)' },
  { value: 'koi8-u', label: 'KOI8-U (Ukrainian)' },
  { value: 'ibm866', label: 'CP866 (DOS Cyrillic)' },
  { value: 'x-mac-cyrillic', label: 'Mac Cyrillic' },
  { value: 'iso-8859-5', label: 'ISO-8859-5 (Cyrillic)' },
  { value: 'windows-1252', label: 'Windows-1252 (Western)' },
  { value: 'iso-8859-15', label: 'ISO-8859-15 (Western, €)' },
  { value: 'windows-1250', label: 'Windows-1250 (Central European)' },
  { value: 'iso-8859-2', label: 'ISO-8859-2 (Central European)' },
  { value: 'windows-1257', label: 'Windows-1257 (Baltic)' },
  { value: 'windows-1253', label: 'Windows-1253 (Greek)' },
  { value: 'iso-8859-7', label: 'ISO-8859-7 (Greek)' },
  { value: 'windows-1254', label: 'Windows-1254 (Turkish)' },
  { value: 'windows-1255', label: 'Windows-1255 (Hebrew)' },
  { value: 'windows-1256', label: 'Windows-1256 (Arabic)' },
  { value: 'windows-874', label: 'Windows-874 (Thai)' },
  { value: 'windows-1258', label: 'Windows-1258 (Vietnamese)' },
  { value: 'shift_jis', label: 'Shift_JIS (Japanese)' },
  { value: 'euc-jp', label: 'EUC-JP (Japanese)' },
  { value: 'iso-2022-jp', label: 'ISO-2022-JP (Japanese)' },
  { value: 'gb18030', label: 'GB18030 / GBK (Chinese, simplified)' },
  { value: 'big5', label: 'Big5 (Chinese, traditional)' },
  { value: 'euc-kr', label: 'EUC-KR (Korean)' },
];

function bom(b: Uint8Array): string | null {
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return 'utf-8';
  if (b[0] === 0xff && b[1] === 0xfe && b[2] === 0 && b[3] === 0) return 'utf-32le';
  if (b[0] === 0 && b[1] === 0 && b[2] === 0xfe && b[3] === 0xff) return 'utf-32be';
  if (b[0] === 0xff && b[1] === 0xfe) return 'utf-16le';
  if (b[0] === 0xfe && b[1] === 0xff) return 'utf-16be';
  return null;
}

/** UTF-32/UTF-16 without a BOM, from where the zero bytes sit in the first few KB. */
function byZeroBytes(b: Uint8Array): string | null {
  const n = Math.min(b.length, 8192);
  if (n < 8) return null;
  const zeros = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) if (b[i] === 0) zeros[i % 4]!++;
  const quarter = n / 4;
  const half = n / 2;
  if (b.length % 4 === 0 && zeros[2]! > 0.95 * quarter && zeros[3]! > 0.95 * quarter && zeros[0]! < 0.5 * quarter) return 'utf-32le';
  if (b.length % 4 === 0 && zeros[0]! > 0.95 * quarter && zeros[1]! > 0.95 * quarter && zeros[3]! < 0.5 * quarter) return 'utf-32be';
  const even = zeros[0]! + zeros[2]!;
  const odd = zeros[1]! + zeros[3]!;
  if (b.length % 2 === 0 && odd > 0.2 * half && even < 0.02 * half) return 'utf-16le';
  if (b.length % 2 === 0 && even > 0.2 * half && odd < 0.02 * half) return 'utf-16be';
  return null;
}

function isUtf8(b: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}

/** jschardet's names -> WHATWG labels (the C1 rule: bytes 0x80-0x9F mean a Windows code page, not ISO). */
function toLabel(name: string, hasC1: boolean): string | null {
  const n = name.toLowerCase();
  const map: Record<string, string> = {
    ascii: 'utf-8',
    'utf-8': 'utf-8',
    'iso-8859-1': 'windows-1252',
    'iso8859-15': 'windows-1252',
    'iso-8859-15': 'windows-1252',
    'iso-8859-2': hasC1 ? 'windows-1250' : 'iso-8859-2',
    'iso8859-16': 'iso-8859-16',
    'iso-8859-5': 'iso-8859-5',
    'iso-8859-7': hasC1 ? 'windows-1253' : 'iso-8859-7',
    'iso-8859-8': hasC1 ? 'windows-1255' : 'iso-8859-8',
    'iso-8859-9': 'windows-1254',
    maccyrillic: 'x-mac-cyrillic',
    ibm866: 'ibm866',
    ibm855: 'windows-1251',
    ptcp154: 'windows-1251',
    'koi8-r': 'koi8-r',
    'koi8-u': 'koi8-u',
    shift_jis: 'shift_jis',
    'euc-jp': 'euc-jp',
    'iso-2022-jp': 'iso-2022-jp',
    gb2312: 'gb18030',
    gb18030: 'gb18030',
    'hz-gb-2312': 'gb18030',
    big5: 'big5',
    'euc-tw': 'big5',
    'euc-kr': 'euc-kr',
    'iso-2022-kr': 'euc-kr',
    'tis-620': 'windows-874',
  };
  const label = map[n] ?? (/^windows-\d{3,4}$/.test(n) ? n : null);
  if (!label) return null;
  try {
    new TextDecoder(label);
    return label;
  } catch {
    return null;
  }
}

type Detector = { detectAll(input: string): { encoding: string; confidence: number }[] };

let detectorPromise: Promise<Detector> | null = null;
/** jschardet is large (language models): loaded when the first file needs it. */
function loadDetector(): Promise<Detector> {
  detectorPromise ??= import('jschardet').then((m) => ((m as { default?: Detector }).default ?? (m as unknown as Detector)));
  return detectorPromise;
}

export async function detectEncoding(bytes: Uint8Array): Promise<DetectedEncoding> {
  const fromBom = bom(bytes);
  if (fromBom) return { encoding: fromBom, confidence: 1, source: 'bom' };
  const wide = byZeroBytes(bytes);
  if (wide) return { encoding: wide, confidence: 0.9, source: 'zero-bytes' };
  if (isUtf8(bytes)) return { encoding: 'utf-8', confidence: bytes.some((b) => b >= 0x80) ? 0.99 : 1, source: 'utf-8' };
  const sample = bytes.subarray(0, 256 * 1024);
  let binary = '';
  for (let i = 0; i < sample.length; i += 8192) binary += String.fromCharCode(...sample.subarray(i, i + 8192));
  const hasC1 = sample.some((b) => b >= 0x80 && b <= 0x9f);
  const candidates = (await loadDetector()).detectAll(binary);
  const labelled = candidates.flatMap((c) => {
    const label = toLabel(c.encoding, hasC1);
    return label && label !== 'utf-8' ? [{ encoding: label, confidence: c.confidence }] : [];
  });
  // Windows-1251 is what Cyrillic subtitle files are in; its rare twins win only by a clear margin.
  const top = labelled[0];
  const cp1251 = labelled.find((c) => c.encoding === 'windows-1251');
  if (top && cp1251 && top !== cp1251 && (top.encoding === 'x-mac-cyrillic' || top.encoding === 'iso-8859-5') && cp1251.confidence >= 0.9 * top.confidence) {
    return { encoding: 'windows-1251', confidence: cp1251.confidence, source: 'detector' };
  }
  if (top) return { encoding: top.encoding, confidence: top.confidence, source: 'detector' };
  return { encoding: 'windows-1252', confidence: 0, source: 'fallback' };
}

function decodeUtf32(bytes: Uint8Array, littleEndian: boolean): string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const parts: string[] = [];
  let chunk: number[] = [];
  for (let i = 0; i + 3 < bytes.length; i += 4) {
    const cp = view.getUint32(i, littleEndian);
    chunk.push(cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ? 0xfffd : cp);
    if (chunk.length === 8192) {
      parts.push(String.fromCodePoint(...chunk));
      chunk = [];
    }
  }
  if (bytes.length % 4 !== 0) chunk.push(0xfffd);
  parts.push(String.fromCodePoint(...chunk));
  return parts.join('');
}

/**
 * Node 20's TextDecoder decodes 'windows-1252' as ISO-8859-1 (bytes 0x80-0x9F come out as C1
 * controls; browsers are right). Where that happens, those 32 bytes get the WHATWG index values.
 */
const CP1252_C1 = '\u20AC\u0081\u201A\u0192\u201E\u2026\u2020\u2021\u02C6\u2030\u0160\u2039\u0152\u008D\u017D\u008F\u0090\u2018\u2019\u201C\u201D\u2022\u2013\u2014\u02DC\u2122\u0161\u203A\u0153\u009D\u017E\u0178';
const cp1252NeedsFix = () => new TextDecoder('windows-1252').decode(new Uint8Array([0x80])) !== '\u20AC';

/** The file's text in `encoding`, without its byte-order mark. Undecodable bytes become U+FFFD. */
export function decodeSubtitleBytes(bytes: Uint8Array, encoding: string): string {
  let text: string;
  if (encoding === 'utf-32le' || encoding === 'utf-32be') text = decodeUtf32(bytes, encoding === 'utf-32le');
  else {
    const decoder = new TextDecoder(encoding);
    text = decoder.decode(bytes);
    if (decoder.encoding === 'windows-1252' && cp1252NeedsFix()) text = text.replace(/[\u0080-\u009F]/g, (c) => CP1252_C1[c.charCodeAt(0) - 0x80]!);
  }
  return text.replace(/^\uFEFF/, '');
}

/** How many characters did not decode: the dialog warns when the chosen encoding looks wrong. */
export function replacementCount(text: string): number {
  let n = 0;
  for (const ch of text) if (ch === '\uFFFD') n++;
  return n;
}
