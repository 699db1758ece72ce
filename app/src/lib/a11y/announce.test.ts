import { describe, expect, it } from 'vitest';
import { renderAnnouncement } from './announce';

describe('renderAnnouncement', () => {
  it('says progress in quarter steps so a live region is not read on every percent', () => {
    const said = new Set([0, 3, 24, 25, 49, 61, 99, 100].map((percent) => renderAnnouncement({ version: 2, status: 'rendering', percent })));
    expect([...said]).toEqual(['Render v2 rendering, 0%', 'Render v2 rendering, 25%', 'Render v2 rendering, 50%', 'Render v2 rendering, 75%', 'Render v2 rendering, 100%']);
  });
  it('says each other state as it is', () => {
    expect(renderAnnouncement({ version: 1, status: 'queued', percent: 0 })).toBe('Render v1 queued');
    expect(renderAnnouncement({ version: 1, status: 'succeeded', percent: 100 })).toBe('Render v1 succeeded');
  });
});
