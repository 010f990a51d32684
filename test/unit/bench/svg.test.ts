import { describe, expect, it } from 'vitest';
import { resultsSvg } from '../../bench/svg.js';

const rects = (svg: string) => [
  ...svg.matchAll(
    /<rect x="[^"]+" y="([^"]+)" width="[^"]+" height="([^"]+)" fill="(#[0-9a-f]+)"><title>([^<]+)<\/title>/g,
  ),
];

describe('resultsSvg', () => {
  it('draws a warm bar per R, the cold bar beside its R, and the floor line, taller for slower', () => {
    // Act
    const svg = resultsSvg({
      warm: [
        { regions: 1, ms: 100 },
        { regions: 2, ms: 150 },
        { regions: 3, ms: 200 },
      ],
      cold: [{ regions: 2, ms: 600 }],
      floorMs: 20,
    });

    // Assess
    const bars = rects(svg).map((m) => ({ title: m[4], height: Number(m[2]), fill: m[3] }));
    expect(bars.map((b) => b.title)).toEqual([
      'warm R=1: 100 ms',
      'warm R=2: 150 ms',
      'cold R=2: 600 ms',
      'warm R=3: 200 ms',
    ]);
    const height = (title: string) => bars.find((b) => b.title === title)?.height ?? 0;
    expect(height('cold R=2: 600 ms')).toBeCloseTo(height('warm R=1: 100 ms') * 6, 0);
    expect(svg).toContain('floor: one bare server-side apply, 20 ms');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
  });

  it('leaves out what was not measured', () => {
    // Act
    const svg = resultsSvg({ warm: [{ regions: 1, ms: 50 }], cold: [] });

    // Assess
    expect(rects(svg)).toHaveLength(1);
    expect(svg).not.toContain('floor:');
  });
});
