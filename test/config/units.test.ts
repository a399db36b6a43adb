// The spec stage's small parts: "did you mean", xm disk specs, the nesting estimate.
import { describe, expect, test } from 'vitest';
import { UserError } from '../../src/diagnostics.js';
import { tooDeepAt } from '../../src/config/yaml/depth.js';
import { parseDisk } from '../../src/config/disk.js';
import { editDistance, hintFor, suggest } from '../../src/config/suggest.js';

describe('suggest', () => {
  const keys = ['host', 'os', 'kernel', 'type', 'memory', 'maxmem', 'vcpus', 'vifs', 'disks', 'root', 'kernel_image', 'extra_modules'];

  test('edit distance counts an adjacent swap as one edit', () => {
    expect(editDistance('memroy', 'memory')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('abcdef', 'uvwxyz', 2)).toBe(3); // gives up past the limit
  });

  test('finds typos: swaps, drops, extra and changed letters, case', () => {
    expect(suggest('memroy', keys)).toBe('memory');
    expect(suggest('kernl', keys)).toBe('kernel');
    expect(suggest('vcpuss', keys)).toBe('vcpus');
    expect(suggest('Memory', keys)).toBe('memory');
    expect(suggest('netbsd-4.0-beta', ['netbsd-4.0_beta', 'netbsd-4.0_beta2', 'netbsd-4.0'])).toBe('netbsd-4.0_beta');
    expect(suggest('service-m2', ['service-m1', 'service-m11'])).toBe('service-m1');
  });

  test('suggests nothing when nothing is close, relative to the word length', () => {
    expect(suggest('bandwidth', keys)).toBeUndefined();
    expect(suggest('xy', ['os'])).toBeUndefined(); // two edits in a 2-letter word
    expect(suggest('osx', ['os'])).toBe('os');
    expect(suggest('anything', [])).toBeUndefined();
  });

  test('ties go to the first candidate', () => {
    expect(suggest('3.0.5', ['3.0.2', '3.0.3', '3.0.4'])).toBe('3.0.2');
  });

  test('hint: a suggestion, else the list when it is short', () => {
    expect(hintFor('memroy', keys)).toBe('did you mean memory?');
    expect(hintFor('zzz', ['pv', 'hvm'])).toBe('expected one of: pv, hvm');
    expect(hintFor('zzz', keys, 5)).toBeUndefined();
  });
});

describe('parseDisk', () => {
  test('the seed forms', () => {
    expect(parseDisk('file:/local/xen/x/wd0.img,0x01,w')).toEqual({ raw: 'file:/local/xen/x/wd0.img,0x01,w', kind: 'file', target: '/local/xen/x/wd0.img', vdev: '0x01', mode: 'w' });
    expect(parseDisk('phy:/dev/wd2d,0x02,w')).toMatchObject({ kind: 'phy', target: '/dev/wd2d', vdev: '0x02', mode: 'w' });
    expect(parseDisk('file:/x.img,0x301,w')).toMatchObject({ kind: 'file', target: '/x.img', vdev: '0x301' });
  });

  test('named devices, tap:aio, read-only, w!, and phy: without /dev/', () => {
    expect(parseDisk('phy:/dev/sdb,xvdb,w')).toMatchObject({ kind: 'phy', target: '/dev/sdb', vdev: 'xvdb', mode: 'w' });
    expect(parseDisk('tap:aio:/x.img,xvda,r')).toMatchObject({ kind: 'tap', target: '/x.img', vdev: 'xvda', mode: 'r' });
    expect(parseDisk('file:/x.img,hda1,w!')).toMatchObject({ vdev: 'hda1', mode: 'w' });
    expect(parseDisk('phy:sdb,sdb,r')).toMatchObject({ target: '/dev/sdb', raw: 'phy:sdb,sdb,r' });
    expect(parseDisk('file:/cd.iso,hdc:cdrom,r')).toMatchObject({ vdev: 'hdc:cdrom', mode: 'r' });
    expect(parseDisk('file:/x.img,ioemu:hda,w')).toMatchObject({ vdev: 'ioemu:hda' });
  });

  const bad = (raw: string) => {
    try {
      parseDisk(raw);
    } catch (e) {
      if (e instanceof UserError) return e.diagnostics.map((d) => `${d.message} | ${d.hint}`);
      throw e;
    }
    throw new Error(`accepted ${raw}`);
  };

  test('malformed specs say which part is wrong', () => {
    expect(bad('file:/x.img,0x01')).toEqual([
      "bad disk 'file:/x.img,0x01': expected 3 comma-separated fields (backend:target, virtual device, mode), found 2 | e.g. 'file:/local/xen/x/wd0.img,0x01,w' or 'phy:/dev/wd2d,0x02,w'",
    ]);
    expect(bad('/x.img,0x01,w')).toEqual(["bad disk '/x.img,0x01,w': '/x.img' has no backend prefix | prefix the target with file:, phy: or tap:aio:"]);
    expect(bad('nbd:/x.img,0x01,w')).toEqual(["bad disk 'nbd:/x.img,0x01,w': unknown backend 'nbd:' | expected file:, phy: or tap:<driver>:"]);
    expect(bad('tap:/x.img,xvda,w')[0]).toMatch(/^bad disk 'tap:\/x.img,xvda,w': tap: needs a driver/);
    expect(bad('file:x.img,0x01,w')[0]).toMatch(/image path 'x.img' is not absolute/);
    expect(bad('file:,0x01,w')[0]).toMatch(/no image path after 'file:'/);
    expect(bad('file:/x.img,,w')[0]).toMatch(/the virtual device \(second field\) is empty/);
    expect(bad('file:/x.img,disk0,w')[0]).toMatch(/'disk0' is not a virtual device/);
    expect(bad('file:/x.img,0x01,rw')).toEqual(["bad disk 'file:/x.img,0x01,rw': mode 'rw' is neither r nor w | use r (read-only) or w (read-write; w! to share)"]);
  });
});

describe('nesting estimate', () => {
  test('counts block indentation, compact items and flow brackets', () => {
    expect(tooDeepAt('a:\n  b:\n    c: 1\n', 3)).toBe(-1);
    expect(tooDeepAt('a:\n  b:\n    c: 1\n', 2)).toBe(12);
    expect(tooDeepAt('- - - x\n', 3)).toBe(6);
    expect(tooDeepAt('a: [[x]]\n', 2)).toBe(4);
  });

  test('ignores brackets in quotes, comments and inside plain words', () => {
    expect(tooDeepAt('a: "[[[[["\nb: \'[[[\'\nc: x # [[[[[\nd: a[b[c[d\n', 2)).toBe(-1);
    expect(tooDeepAt('a: "x\\"[[[["\n', 1)).toBe(-1);
  });
});
