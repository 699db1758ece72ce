/**
 * The subtitle corpus the tests build for themselves: one file per case that real-world SRT, WebVTT
 * and ASS files throw at an importer, each with what must come out (cues in milliseconds with their
 * plain text, and the warnings by line), plus encoders that turn a text into the bytes of each
 * encoding our users send (UTF-8/16/32 with and without BOM, Windows-1251/1252/1250, KOI8-R).
 */

export interface CorpusCase {
  name: string;
  fileName: string;
  text: string;
  format: 'srt' | 'vtt' | 'ass';
  /** [startMs, endMs, plain text] */
  cues: [number, number, string][];
  /** [line, pattern] for every warning that is not a note, in line order. */
  warnings: [number, RegExp][];
}

const crlf = (s: string) => s.replace(/\n/g, '\r\n');

export const SUBTITLE_CORPUS: CorpusCase[] = [
  // ---------------------------------------------------------------- SRT
  {
    name: 'SRT: BOM, CRLF, missing blank line, dot milliseconds, missing hours, X1 coordinates',
    fileName: 'basic.srt',
    format: 'srt',
    text: crlf('\uFEFF1\n00:00:01,000 --> 00:00:02,500\nHello\n<i>world</i>\n2\n00:03.000 --> 00:00:04,000 X1:10 X2:20 Y1:5 Y2:9\nNext\n'),
    cues: [
      [1000, 2500, 'Hello\nworld'],
      [3000, 4000, 'Next'],
    ],
    warnings: [],
  },
  {
    name: 'SRT: a zero-length cue and a backwards cue are dropped, the rest imports',
    fileName: 'zero.srt',
    format: 'srt',
    text: '1\n00:00:01,000 --> 00:00:02,000\nkept\n\n2\n00:00:03,000 --> 00:00:03,000\nzero\n\n3\n00:00:05,000 --> 00:00:04,000\nbackwards\n\n4\n00:00:06,000 --> 00:00:07,000\nalso kept\n',
    cues: [
      [1000, 2000, 'kept'],
      [6000, 7000, 'also kept'],
    ],
    warnings: [
      [6, /no duration/],
      [10, /ends before it starts/],
    ],
  },
  {
    name: 'SRT: blank line right after the timing line, blank lines inside a cue',
    fileName: 'blank.srt',
    format: 'srt',
    text: '1\n00:00:01,000 --> 00:00:02,000\n\nafter a blank line\n\n2\n00:00:03,000 --> 00:00:04,000\nfirst part\n\nsecond part\n\n\n3\n00:00:05,000 --> 00:00:06,000\nthird\n',
    cues: [
      [1000, 2000, 'after a blank line'],
      [3000, 4000, 'first part\n\nsecond part'],
      [5000, 6000, 'third'],
    ],
    warnings: [],
  },
  {
    name: 'SRT: 3-digit hours, 4-digit milliseconds, 1-digit fields, ";" and ":" before the fraction',
    fileName: 'times.srt',
    format: 'srt',
    text: '1\n100:00:00,0005 --> 100:00:01,2500\nlong hours\n\n2\n0:0:1,5 --> 0:0:2,25\nshort fields\n\n3\n00:00:03:500 --> 00:00:04;750\nseparators\n',
    cues: [
      [1500, 2250, 'short fields'],
      [3500, 4750, 'separators'],
      [360_000_000.5, 360_001_250, 'long hours'],
    ],
    warnings: [],
  },
  {
    name: 'SRT: full-width digits, colons, commas and arrow (CJK files)',
    fileName: 'fullwidth.srt',
    format: 'srt',
    text: '１\n００：００：０１，５００ －－＞ ００：００：０３，０００\n你好，世界\n\n２\n００:００:０４,０００ --> ００:００:０５,０００\n再见\n',
    cues: [
      [1500, 3000, '你好，世界'],
      [4000, 5000, '再见'],
    ],
    warnings: [],
  },
  {
    name: 'SRT: arrows "- >", "-- >", "->", "--->" and junk after the end time',
    fileName: 'arrows.srt',
    format: 'srt',
    text: '1\n00:00:01,000 - > 00:00:02,000\na\n\n2\n00:00:03,000 -- > 00:00:04,000 position:50%\nb\n\n3\n00:00:05,000->00:00:06,000\nc\n\n4\n00:00:07,000 ---> 00:00:08,000 junk junk\nd\n',
    cues: [
      [1000, 2000, 'a'],
      [3000, 4000, 'b'],
      [5000, 6000, 'c'],
      [7000, 8000, 'd'],
    ],
    warnings: [],
  },
  {
    name: 'SRT: an unreadable timing line drops that cue with its text; stray text before the first cue',
    fileName: 'broken.srt',
    format: 'srt',
    text: 'Subtitles by somebody\n\n1\n00:00:01,000 --> 00:00:0x,000\nbroken\n\n2\n00:00:03,000 --> 00:00:04,000\nfine\n',
    cues: [[3000, 4000, 'fine']],
    warnings: [
      [1, /text before the first cue/],
      [4, /not a timing line/],
    ],
  },
  {
    name: 'SRT: markup (<i> <b> <u> <s> <font color>, {\\an8}, VTT tags, <br>) becomes styling; unknown tags stay as text',
    fileName: 'markup.srt',
    format: 'srt',
    text: '1\n00:00:01,000 --> 00:00:02,000\n{\\an8}<i>it</i> <B>b</B> <u>u</u> <s>s</s> <font color="#ff0000">red</font> <font color=yellow>y</font>\n\n2\n00:00:03,000 --> 00:00:04,000\n<v Bob>hi<br>there <c.yellow>c</c> <3 <bad> a < b\n',
    cues: [
      [1000, 2000, 'it b u s red y'],
      [3000, 4000, 'hi\nthere c <3 <bad> a < b'],
    ],
    warnings: [],
  },
  {
    name: 'SRT: no cue numbers, digits-only text lines, text containing "-->"',
    fileName: 'numbers.srt',
    format: 'srt',
    text: '00:00:01,000 --> 00:00:02,000\n2024\nthe year\n\n00:00:03,000 --> 00:00:04,000\nA --> B\n42\n\n7\n00:00:05,000 --> 00:00:06,000\nseven\n',
    cues: [
      [1000, 2000, '2024\nthe year'],
      [3000, 4000, 'A --> B\n42'],
      [5000, 6000, 'seven'],
    ],
    warnings: [],
  },
  {
    name: 'SRT: NUL and a lone CR line ending',
    fileName: 'nul.srt',
    format: 'srt',
    text: '1\r00:00:01,000 --> 00:00:02,000\ra\u0000b\r',
    cues: [[1000, 2000, 'a\uFFFDb']],
    warnings: [],
  },
  // ---------------------------------------------------------------- WebVTT
  {
    name: 'WebVTT: timestamps the spec accepts and the ones it rejects (each dropped with a warning)',
    fileName: 'timestamps.vtt',
    format: 'vtt',
    text: [
      'WEBVTT',
      '',
      '00:01.000 --> 00:02.000',
      'minutes only',
      '',
      '1:00:00.000 --> 1:00:01.000',
      'one-digit hours',
      '',
      '00:0:00.000 --> 00:01.000',
      'one-digit minutes',
      '',
      '00:00.0 --> 00:01.000',
      'one-digit fraction',
      '',
      '00:00:03,000 --> 00:00:04,000',
      'comma',
      '',
      '00:60.000 --> 01:00.000',
      'sixty seconds',
      '',
      '00:05.000 --> 00:05.000',
      'zero length',
      '',
      '00:06.000 --> 00:07.000 align:start line:0 position:10%',
      'with settings',
      '',
    ].join('\n'),
    cues: [
      [1000, 2000, 'minutes only'],
      [6000, 7000, 'with settings'],
      [3_600_000, 3_601_000, 'one-digit hours'],
    ],
    warnings: [
      [9, /two digits/],
      [12, /three digits/],
      [15, /"\." before the milliseconds/],
      [18, /at most 59/],
      [21, /no duration/],
    ],
  },
  {
    name: 'WebVTT: named and numeric character references, malformed ones stay',
    fileName: 'entities.vtt',
    format: 'vtt',
    text: 'WEBVTT\n\n00:01.000 --> 00:02.000\nTom &amp; Jerry &lt;3 &gt; &nbsp;|&lrm;|&rlm;|&quot;|&apos;|&#39;|&#x1F600;|&#233;|&eacute;|&amp|&bogus;|&#0;|&copy2026\n',
    cues: [[1000, 2000, 'Tom & Jerry <3 > \u00A0|\u200E|\u200F|"|\'|\'|😀|é|é|&|&bogus;|\uFFFD|©2026']],
    warnings: [],
  },
  {
    name: 'WebVTT: unknown and malformed tags, unclosed <c, voice whitespace, ruby, karaoke timestamps',
    fileName: 'tags.vtt',
    format: 'vtt',
    text: 'WEBVTT\n\n00:01.000 --> 00:02.000\n<bad>x</bad> < u>y</u> </>z <i>i</i><b>b</b><u>u</u>\n<v Bob>   spoken</v> <v.loud Ann>shout\n\n00:03.000 --> 00:04.000\n<ruby>漢<rt>kan</rt></ruby> karaoke <00:03.500>word <c.yellow.bg_blue>c</c> tail<c',
    cues: [
      [1000, 2000, 'x y z ibu\nspoken shout'],
      [3000, 4000, '漢(kan) karaoke word c tail'],
    ],
    warnings: [],
  },
  {
    name: 'WebVTT: NUL becomes U+FFFD',
    fileName: 'nul.vtt',
    format: 'vtt',
    text: 'WEBVTT\n\n00:01.000 --> 00:02.000\na\u0000b\n',
    cues: [[1000, 2000, 'a\uFFFDb']],
    warnings: [],
  },
  {
    name: 'WebVTT: header lines, "-->" in an identifier, STYLE with CSS, REGION, NOTE, stray text',
    fileName: 'blocks.vtt',
    format: 'vtt',
    text: [
      'WEBVTT - My film',
      'Kind: captions',
      'Language: en',
      '',
      'STYLE',
      '::cue { color: yellow; background-color: rgba(0, 0, 0, 0.6); font-family: "DejaVu Sans", sans-serif }',
      '::cue(.loud) { color: #f80 }',
      '/* a comment with a brace } */',
      '',
      'REGION',
      'id:fred',
      'width:40%',
      '',
      'NOTE a comment',
      'spanning two lines',
      '',
      'an id --> with an arrow',
      '00:01.000 --> 00:02.000',
      'after the arrow id',
      '',
      'intro',
      '00:03.000 --> 00:04.000',
      '<c.loud>LOUD</c>',
      '',
      'just some text',
      'without timing',
      '',
      'STYLE',
      '::cue { color: red }',
      '',
      '00:05.000 --> 00:06.000',
      'last',
      '',
    ].join('\n'),
    cues: [
      [1000, 2000, 'after the arrow id'],
      [3000, 4000, 'LOUD'],
      [5000, 6000, 'last'],
    ],
    warnings: [
      [25, /text without a timing line/],
      [28, /STYLE block after the first cue/],
    ],
  },
  {
    name: 'WebVTT: a "-->" line in the header ends it and starts the first cue; a STYLE block after it is ignored',
    fileName: 'header-arrow.vtt',
    format: 'vtt',
    text: 'WEBVTT\nKind: captions\n00:00.500 --> 00:00.900\nthe header ended here\n\nSTYLE\n::cue { color: red }\n\n00:01.000 --> 00:02.000\nnext\n',
    cues: [
      [500, 900, 'the header ended here'],
      [1000, 2000, 'next'],
    ],
    warnings: [[6, /STYLE block after the first cue/]],
  },
  {
    name: 'WebVTT: a .vtt file without the WEBVTT line is read as SRT (with a note)',
    fileName: 'noheader.vtt',
    format: 'srt',
    text: '1\n00:00:01,000 --> 00:00:02,000\nno header\n',
    cues: [[1000, 2000, 'no header']],
    warnings: [],
  },
  // ---------------------------------------------------------------- ASS / SSA
  {
    name: 'ASS: styles, Comment lines, \\N \\n \\h, override tags, drawings, bad and backwards times',
    fileName: 'episode.ass',
    format: 'ass',
    text: [
      '[Script Info]',
      '; comment',
      'ScriptType: v4.00+',
      'PlayResX: 640',
      'PlayResY: 360',
      'WrapStyle: 0',
      '',
      '[V4+ Styles]',
      'Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding',
      'Style: Default,DejaVu Sans,24,&H0000FFFF,&H000000FF,&H00101010,&H80000000,-1,0,0,0,100,100,0,0,1,2,0,2,10,10,30,1',
      'Style: Sign,Arial,20,&H00FFFFFF,&H000000FF,&H00000000,&H80000000,0,-1,0,0,100,100,0,0,1,2,0,8,10,10,20,1',
      '',
      '[Events]',
      'Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text',
      'Dialogue: 0,0:00:01.00,0:00:02.50,Default,Bob,0,0,0,,Hello, {\\i1}world{\\i0}\\Nsecond\\nline\\hnbsp',
      'Comment: 0,0:00:01.00,0:00:02.50,Default,,0,0,0,,not shown',
      'Dialogue: 0,0:00:03.00,0:00:04.00,Sign,,0,0,0,,{\\an8}Sign {\\p1}m 0 0 l 10 10{\\p0}done',
      'Dialogue: 0,0:00:05.00,0:00:06.00,Default,,0,0,0,,{\\pos(320,40)\\fad(200,200)\\c&H0000FF&}red{\\r} plain {a comment}',
      'Dialogue: 0,0:00:0x.00,0:00:08.00,Default,,0,0,0,,bad time',
      'Dialogue: 0,0:00:09.00,0:00:08.00,Default,,0,0,0,,backwards',
      'Dialogue: 0,0:00:10.00,0:00:11.00,Default,,0,0,0,,literal \\{braces\\}',
      '',
    ].join('\n'),
    cues: [
      [1000, 2500, 'Hello, world\nsecond line\u00A0nbsp'],
      [3000, 4000, 'Sign done'],
      [5000, 6000, 'red plain '],
      [10000, 11000, 'literal {braces}'],
    ],
    warnings: [
      [19, /not a time/],
      [20, /ends before it starts/],
    ],
  },
  {
    name: 'SSA v4: decimal colours, legacy alignment, no Format lines',
    fileName: 'old.ssa',
    format: 'ass',
    text: [
      '[Script Info]',
      'ScriptType: v4.00',
      'PlayResY: 480',
      '',
      '[V4 Styles]',
      'Style: Default,Tahoma,32,16777215,65535,65535,0,-1,0,1,2,0,6,30,30,40,0,0',
      '',
      '[Events]',
      'Dialogue: Marked=0,0:00:01.00,0:00:02.00,Default,,0000,0000,0000,,Old school',
      '',
    ].join('\n'),
    cues: [[1000, 2000, 'Old school']],
    warnings: [],
  },
];

// ---------------------------------------------------------------- encodings

type Decode = (bytes: Uint8Array, encoding: string) => string;
const platformDecode: Decode = (bytes, encoding) => new TextDecoder(encoding).decode(bytes);

/** Bytes of `text` in a single-byte encoding, built from a decoder's table (the platform's by default). */
export function encodeSingleByte(text: string, encoding: string, decode: Decode = platformDecode): Uint8Array {
  const table = new Map<string, number>();
  for (let b = 255; b >= 0; b--) table.set(decode(new Uint8Array([b]), encoding), b);
  return Uint8Array.from([...text], (ch) => {
    const b = table.get(ch);
    if (b === undefined) throw new Error(`${encoding} has no ${JSON.stringify(ch)}`);
    return b;
  });
}

export function encodeUtf16(text: string, littleEndian: boolean, bom: boolean): Uint8Array {
  const units = (bom ? '\uFEFF' : '') + text;
  const out = new Uint8Array(units.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < units.length; i++) view.setUint16(i * 2, units.charCodeAt(i), littleEndian);
  return out;
}

export function encodeUtf32(text: string, littleEndian: boolean, bom: boolean): Uint8Array {
  const points = [...((bom ? '\uFEFF' : '') + text)].map((c) => c.codePointAt(0)!);
  const out = new Uint8Array(points.length * 4);
  const view = new DataView(out.buffer);
  points.forEach((p, i) => view.setUint32(i * 4, p, littleEndian));
  return out;
}

const srt = (lines: string[]) => lines.map((l, i) => `${i + 1}\n00:00:${String(i * 2 + 1).padStart(2, '0')},000 --> 00:00:${String(i * 2 + 2).padStart(2, '0')},000\n${l}\n`).join('\n');

/** Realistic dialogue in the languages whose legacy encodings we must read. */
export const ENCODING_TEXTS = {
  russian: srt([
    'Привет! Как дела?',
    'Я не знаю, что сказать тебе сейчас.',
    'Это было очень давно, ещё до войны.',
    'Подожди, я сейчас вернусь.',
    'Почему ты мне ничего не сказал?',
    'Хорошо, давай встретимся завтра утром.',
  ]),
  french: srt([
    'Ça va très bien, merci. Où est la gare ?',
    "Je suis désolé, je ne l'ai pas vu.",
    'Il était une fois, dans un château lointain…',
    'Nous étions à la fenêtre quand ça s’est passé.',
    'Für die Straße müssen wir über die Brücke gehen.',
    'Ärger gibt es nur, wenn du zu spät kommst.',
  ]),
  czech: srt([
    'Příliš žluťoučký kůň úpěl ďábelské ódy.',
    'Dobrý den, jak se máte? Děkuji, dobře.',
    'Zażółć gęślą jaźń, powiedział mój przyjaciel.',
    'Nevím, co ti mám říct, je mi to líto.',
    'Dziękuję bardzo, do widzenia jutro rano.',
    'Počkej chvíli, hned jsem zpátky.',
  ]),
  mixed: srt(['Hello — “quoted” 😀', 'مرحبا بالعالم', '日本語のテキスト', 'Ελληνικά γράμματα', 'Привет, мир']),
} as const;

export interface EncodedCase {
  name: string;
  bytes: Uint8Array;
  text: string;
  /** What detection must find (WHATWG label). */
  encoding: string;
}

export function encodingCorpus(decode: Decode = platformDecode): EncodedCase[] {
  const u8 = (s: string, bom: boolean) => new Uint8Array([...(bom ? [0xef, 0xbb, 0xbf] : []), ...new TextEncoder().encode(s)]);
  return [
    { name: 'UTF-8 without BOM', bytes: u8(ENCODING_TEXTS.mixed, false), text: ENCODING_TEXTS.mixed, encoding: 'utf-8' },
    { name: 'UTF-8 with BOM', bytes: u8(ENCODING_TEXTS.russian, true), text: ENCODING_TEXTS.russian, encoding: 'utf-8' },
    { name: 'UTF-16LE with BOM', bytes: encodeUtf16(ENCODING_TEXTS.mixed, true, true), text: ENCODING_TEXTS.mixed, encoding: 'utf-16le' },
    { name: 'UTF-16BE with BOM', bytes: encodeUtf16(ENCODING_TEXTS.russian, false, true), text: ENCODING_TEXTS.russian, encoding: 'utf-16be' },
    { name: 'UTF-16LE without BOM', bytes: encodeUtf16(ENCODING_TEXTS.french, true, false), text: ENCODING_TEXTS.french, encoding: 'utf-16le' },
    { name: 'UTF-16BE without BOM', bytes: encodeUtf16(ENCODING_TEXTS.czech, false, false), text: ENCODING_TEXTS.czech, encoding: 'utf-16be' },
    { name: 'UTF-32LE with BOM', bytes: encodeUtf32(ENCODING_TEXTS.mixed, true, true), text: ENCODING_TEXTS.mixed, encoding: 'utf-32le' },
    { name: 'UTF-32BE with BOM', bytes: encodeUtf32(ENCODING_TEXTS.russian, false, true), text: ENCODING_TEXTS.russian, encoding: 'utf-32be' },
    { name: 'UTF-32LE without BOM', bytes: encodeUtf32(ENCODING_TEXTS.czech, true, false), text: ENCODING_TEXTS.czech, encoding: 'utf-32le' },
    { name: 'Windows-1251 (Russian)', bytes: encodeSingleByte(ENCODING_TEXTS.russian, 'windows-1251', decode), text: ENCODING_TEXTS.russian, encoding: 'windows-1251' },
    { name: 'KOI8-R (Russian)', bytes: encodeSingleByte(ENCODING_TEXTS.russian, 'koi8-r', decode), text: ENCODING_TEXTS.russian, encoding: 'koi8-r' },
    { name: 'Windows-1252 (French/German)', bytes: encodeSingleByte(ENCODING_TEXTS.french, 'windows-1252', decode), text: ENCODING_TEXTS.french, encoding: 'windows-1252' },
    { name: 'Windows-1250 (Czech/Polish)', bytes: encodeSingleByte(ENCODING_TEXTS.czech, 'windows-1250', decode), text: ENCODING_TEXTS.czech, encoding: 'windows-1250' },
  ];
}
