/** Documents shared by the collab benches. */
import * as Y from 'yjs';

/** A timeline-like document: 50 clips with a few keyframes each, a title, 20 cues. */
export function timelineDoc(): Uint8Array {
  const d = new Y.Doc();
  d.transact(() => {
    d.getMap('meta').set('title', 'Bench project');
    const clips = d.getArray<Y.Map<unknown>>('clips');
    for (let i = 0; i < 50; i++) {
      const clip = new Y.Map<unknown>();
      clip.set('id', `clip-${i}`);
      clip.set('asset', crypto.randomUUID());
      clip.set('in', i * 30);
      clip.set('out', i * 30 + 90);
      const keys = new Y.Array<unknown>();
      keys.push([0, 15, 30].map((f) => ({ frame: f, x: 10, y: 20, w: 1080, h: 1920 })));
      clip.set('crop', keys);
      clips.push([clip]);
    }
    const cues = d.getArray<unknown>('cues');
    for (let i = 0; i < 20; i++) cues.push([{ start: i * 60, end: i * 60 + 50, text: `Subtitle line number ${i}` }]);
  });
  return Y.encodeStateAsUpdate(d);
}
