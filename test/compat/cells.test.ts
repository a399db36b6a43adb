// The shipped example cells, through the real loader, with source positions.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/catalog/load.js';
import { runCompat } from '../../src/compat/index.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { loadCell } from '../../src/config/load.js';

const catalog = loadCatalog();
const cellFile = (name: string) => join(PACKAGE_ROOT, 'cells', name);
const compat = (file: string) => runCompat(loadCell(file, catalog), catalog);

/** A shipped cell with some text replaced, written to a temp file; returns its path. */
function edited(name: string, ...edits: [string | RegExp, string][]): string {
  let text = readFileSync(cellFile(name), 'utf8');
  for (const [from, to] of edits) {
    const next = text.replace(from, to);
    if (next === text) throw new Error(`edit ${String(from)} did not apply to ${name}`);
    text = next;
  }
  const file = join(mkdtempSync(join(tmpdir(), 'cellctl-compat-')), name);
  writeFileSync(file, text);
  return file;
}

/** 1-based line of the first line containing `needle`. */
function lineOf(file: string, needle: string): number {
  return readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes(needle)) + 1;
}

describe('example cells', () => {
  it('awesmoe.yaml: OpenAFS 1.4.2 cannot load on Xen 3.0.2 2.6.16-xen (seed Example 2)', () => {
    const file = cellFile('awesmoe.yaml');
    const fs = compat(file);
    expect(fs.map((f) => f.code)).toEqual(['module-gpl-only-symbol']);
    const f = fs[0]!;
    expect(f.severity).toBe('error');
    expect(f.subject).toBe('module.shea.openafs');
    expect(f.message).toContain("openafs: module license 'http://www.openafs.org/dl/license10.html' taints kernel");
    expect(f.message).toContain('openafs: Unknown symbol force_evtchn_callback');
    expect(f.message).toContain('openafs: Unknown symbol xen_features');
    expect(f.fix).toContain('Xen >= 3.0.3');
    expect(f.fix).toContain('linux-2.6.16.29-xen-3.0.3 (needs Xen 3.0.3 on kraken)');
    expect(f.pos).toMatchObject({ file, line: lineOf(file, 'kernel: linux-2.6.16-xen-3.0.2') });
  });

  it('awesmoe-fixed.yaml: Xen 3.0.3 and its kernel, no findings', () => {
    expect(compat(cellFile('awesmoe-fixed.yaml'))).toEqual([]);
  });

  it('tproa.yaml: only the Arla panic warning (seed Example 1)', () => {
    const file = cellFile('tproa.yaml');
    const fs = compat(file);
    expect(fs.map((f) => [f.code, f.severity, f.subject])).toEqual([['arla-panic-reports', 'warning', 'afs-client.service-m1']]);
    expect(fs[0]!.pos?.line).toBe(lineOf(file, 'clients: { service-m1: arla-0.43 }'));
  });

  it('tproa.yaml with the stock DEBUG,DIAGNOSTIC kernel: nnpfs will not load', () => {
    const file = edited('tproa.yaml', ['kernel: netbsd-3.1-xen3-domu-nodiag', 'kernel: netbsd-3.1-xen3-domu']);
    const errors = compat(file).filter((f) => f.severity === 'error');
    expect(errors.map((f) => f.code)).toEqual(['module-kernel-options']);
    expect(errors[0]!.subject).toBe('module.service-m1.nnpfs');
    expect(errors[0]!.message).toMatch(/nnpfs: kernel netbsd-3\.1-xen3-domu is built with DEBUG,DIAGNOSTIC/);
    expect(errors[0]!.fix).toContain('netbsd-3.1-xen3-domu-nodiag');
    expect(errors[0]!.pos?.line).toBe(lineOf(file, 'kernel: netbsd-3.1-xen3-domu'));
  });
});

describe('positions point at the offending node', () => {
  it('bridge, device, MAC and memory findings', () => {
    const file = edited(
      'tproa.yaml',
      ['bridge: bridge3, ip', 'bridge: bridge9, ip'],
      ['phy:/dev/wd3f,0x04,w', 'phy:/dev/wd9z,0x04,w'],
      ['mac: "00:16:3e:10:11:c4"', 'mac: "52:54:00:10:11:c4"'],
      ['memory: 1024', 'memory: 256'],
    );
    const fs = compat(file);
    const at = (code: string) => fs.find((f) => f.code === code)?.pos?.line;
    expect(at('bridge-missing')).toBe(lineOf(file, 'bridge9'));
    expect(at('device-missing')).toBe(lineOf(file, '/dev/wd9z'));
    expect(at('mac-not-xen-oui')).toBe(lineOf(file, '52:54:00'));
    expect(at('host-memory-exceeded')).toBe(lineOf(file, 'memory: 256'));
    expect(fs.find((f) => f.code === 'host-memory-exceeded')!.message).toContain('= 512 MiB, but the host has 256 MiB');
  });

  it('host OS and quorum findings', () => {
    const file = edited(
      'awesmoe-fixed.yaml',
      ['os: netbsd-4.0_beta', 'os: netbsd-3.1'],
      ['dbservers: [shea]', 'dbservers: [shea, shea2]'],
      [/\nkerberos:/, `
  shea2:
    host: kraken
    os: debian-etch
    kernel: linux-2.6.16.29-xen-3.0.3
    memory: 128
    vifs:
      - { mac: "00:16:3e:10:11:39", bridge: bridge4, ip: 10.4.0.39 }
    disks:
      - file:/local/xen/shea2.awesmoe.org/debian.4-0.img,0x301,w

kerberos:`],
    );
    const fs = compat(file);
    expect(fs.map((f) => f.code)).toEqual(['dom0-os-unsupported', 'afs-db-quorum']);
    expect(fs[0]!.pos?.line).toBe(lineOf(file, 'os: netbsd-3.1'));
    expect(fs[1]!.pos?.line).toBe(lineOf(file, 'dbservers: [shea, shea2]'));
  });
});
