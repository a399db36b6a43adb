import { describe, expect, it } from 'vitest';
import { wrapText, wrapWords } from '../../src/render/wrap.js';

describe('wrapping for a terminal', () => {
  it('never splits a word and never passes the width, except for a word longer than it', () => {
    const text = 'Error: [module-gpl-only-symbol] cells/awesmoe.yaml:23:13: module.shea.openafs: openafs: Unknown symbol force_evtchn_callback';
    for (const width of [20, 40, 80]) {
      const lines = wrapText(text, width).split('\n');
      for (const l of lines) expect(l.length <= width || !l.trim().includes(' '), `${width}: ${l}`).toBe(true);
      expect(lines.join(' ').replace(/\s+/g, ' ')).toBe(text);
    }
  });

  it('hangs continuation lines under their line, keeping its indentation', () => {
    expect(wrapText('Error: one two three four\n    fix: five six seven eight', 22)).toBe('Error: one two three\n    four\n    fix: five six\n        seven eight');
  });

  it('leaves text alone off a terminal', () => {
    expect(wrapText('a b c '.repeat(50), undefined)).toBe('a b c '.repeat(50));
    expect(wrapWords('', 10)).toEqual([]);
  });
});
