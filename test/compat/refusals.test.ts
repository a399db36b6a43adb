// Cells that used to pass validate and then fail part-way through apply, or that Xen, Kerberos or
// OpenAFS would refuse: each is now refused by validate (the loader's schema and checks, or a compat
// rule), at the file:line:col of what to change. One row per case; the fixture is the edit of a real
// cell (awesmoe-fixed.yaml: one Linux guest with KDC, AFS servers and client).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/catalog/load.js';
import { runCompat } from '../../src/compat/index.js';
import { loadCell } from '../../src/config/load.js';
import { UserError, type SourcePos } from '../../src/diagnostics.js';
import { PACKAGE_ROOT } from '../../src/paths.js';

const catalog = loadCatalog();
const dir = mkdtempSync(join(tmpdir(), 'cellctl-refusals-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const BASE = readFileSync(join(PACKAGE_ROOT, 'cells', 'awesmoe-fixed.yaml'), 'utf8');

// A second guest for the cases that need two: on the same host and bridge.
const guest2 = (name: string, vif: string, disk = `file:/local/xen/${name}.awesmoe.org/debian.img,0x301,w`) => `
  ${name}:
    host: kraken
    os: debian-etch
    kernel: linux-2.6.16.29-xen-3.0.3
    memory: 64
    vifs: ${vif}
    disks:
      - ${disk}

kerberos:`;

let n = 0;
function write(edits: [string | RegExp, string][], text = BASE): string {
  for (const [from, to] of edits) {
    const next = text.replace(from, to);
    if (next === text) throw new Error(`edit ${String(from)} did not apply`);
    text = next;
  }
  const file = join(dir, `cell${n++}.yaml`);
  writeFileSync(file, text);
  return file;
}

/** 1-based line and column of `needle` in the file. */
function at(file: string, needle: string): { line: number; col: number } {
  const lines = readFileSync(file, 'utf8').split('\n');
  const line = lines.findIndex((l) => l.includes(needle));
  if (line < 0) throw new Error(`${needle} not in ${file}`);
  return { line: line + 1, col: lines[line]!.indexOf(needle) + 1 };
}

/** What validate says: diagnostics of the loader, else compat errors (code, message, position). */
function validate(file: string): { code: string; message: string; pos?: SourcePos }[] {
  try {
    const spec = loadCell(file, catalog);
    return runCompat(spec, catalog).filter((f) => f.severity === 'error').map((f) => ({ code: f.code, message: f.message, ...(f.pos ? { pos: f.pos } : {}) }));
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    // As the CLI shows it: the message, then the hint in parentheses.
    return e.diagnostics.map((d) => ({ code: 'load', message: `${d.message}${d.hint ? ` (${d.hint})` : ''}`, ...(d.pos ? { pos: d.pos } : {}) }));
  }
}

interface Row {
  edits: [string | RegExp, string][];
  code: string; // 'load' for the loader's own diagnostics
  message: RegExp;
  at: string; // text on the line (and column) the refusal points at
}

const DISK = 'file:/local/xen/shea.awesmoe.org/debian.4-0.img,0x301,w';
const addDisk = (spec: string): [string, string] => [DISK, `${DISK}\n      - ${spec}`];
const addGuest = (name: string, vif: string, disk?: string): [RegExp, string] => [/\nkerberos:/, guest2(name, vif, disk)];
const principals = (list: string): [string, string] => ['principals: [kula]', `principals: [${list}]`];
const volume0 = (name: string): [string, string] => ['name: root.afs,', `name: ${name},`];

const ROWS: Record<string, Row> = {
  'two disks on one vdev (0x01 twice)': { edits: [addDisk('file:/local/xen/shea.awesmoe.org/b.img,0x01,w'), [DISK, 'file:/local/xen/shea.awesmoe.org/a.img,0x01,w']], code: 'duplicate-vdev', message: /disks 0 .* and 1 .* are both xvda/, at: 'b.img,0x01' },
  'two disks on one vdev (0x301 and hda1)': { edits: [addDisk('file:/local/xen/shea.awesmoe.org/b.img,hda1,w')], code: 'duplicate-vdev', message: /are both hda1/, at: 'b.img,hda1' },
  'a whole disk and its partition (hda1 and hda)': { edits: [addDisk('file:/local/xen/shea.awesmoe.org/b.img,hda,w')], code: 'duplicate-vdev', message: /hda \(disk 1\) overlaps hda1 \(disk 0\)/, at: 'b.img,hda,' },
  'vdev xvdzzz999': { edits: [addDisk('file:/local/xen/shea.awesmoe.org/b.img,xvdzzz999,w')], code: 'load', message: /partition 999 is past the last xvd partition, 255/, at: 'xvdzzz999' },
  'vdev sdzz': { edits: [addDisk('file:/local/xen/shea.awesmoe.org/b.img,sdzz,w')], code: 'load', message: /sdzz is past the last sd disk, sdiv/, at: 'sdzz' },
  'vdev 0x1f00 (no block major 31)': { edits: [addDisk('file:/local/xen/shea.awesmoe.org/b.img,0x1f00,w')], code: 'load', message: /major 31 is not an IDE, SCSI or xvd block major/, at: '0x1f00' },
  'one writable file: image in two guests': {
    edits: [addGuest('shea2', '[{ mac: "00:16:3e:10:11:39", bridge: bridge4, ip: 10.4.0.39 }]', 'file:/local/xen/shea.awesmoe.org/debian.4-0.img,xvda,w')],
    code: 'image-shared', message: /File \/local\/xen\/shea\.awesmoe\.org\/debian\.4-0\.img is loopback-mounted, which is mounted in a guest domain/, at: 'debian.4-0.img,xvda',
  },
  'principal krbtgt/REALM': { edits: [principals('kula, krbtgt/AWESMOE.ORG')], code: 'principal-reserved', message: /already exists while creating "krbtgt\/AWESMOE\.ORG@AWESMOE\.ORG"/, at: 'krbtgt/AWESMOE.ORG' },
  'principal K/M': { edits: [principals('kula, K/M')], code: 'principal-reserved', message: /"K\/M@AWESMOE\.ORG"/, at: 'K/M' },
  'principal kadmin/admin (MIT creates it)': { edits: [principals('kula, kadmin/admin')], code: 'principal-reserved', message: /"kadmin\/admin@AWESMOE\.ORG": mit-krb5-1\.4\.4's new database holds it/, at: 'kadmin/admin' },
  'principal afs/<cell>': { edits: [principals('kula, afs/awesmoe.org')], code: 'principal-reserved', message: /cellctl creates it for the cell's AFS servers/, at: 'afs/awesmoe.org' },
  'kula.admin and kula/admin': { edits: [principals('kula, kula.admin, kula/admin')], code: 'pts-name-collision', message: /kula\/admin and kula\.admin are both the AFS user kula\.admin/, at: 'kula/admin' },
  'Kula and kula': { edits: [principals('kula, Kula')], code: 'pts-name-collision', message: /Kula and kula are both the AFS user kula/, at: 'Kula' },
  'a principal too long for the PRDB': { edits: [principals(`kula, ${'k'.repeat(64)}`)], code: 'pts-name-invalid', message: /Badly formed name \(64 characters/, at: 'k'.repeat(64) },
  'a replica KDC with no vif': { edits: [addGuest('shea2', '[]'), ['kdcs: [shea]', 'kdcs: [shea, shea2]']], code: 'service-without-address', message: /shea2 runs a KDC .* but has no vif/, at: 'vifs: []' },
  'a db server with a vif but no ip': { edits: [addGuest('shea2', '[{ mac: "00:16:3e:10:11:39", bridge: bridge4 }]'), ['dbservers: [shea]', 'dbservers: [shea, shea2]']], code: 'service-without-address', message: /shea2 runs an AFS database server .* but has no vif with an ip/, at: 'vifs: [{ mac: "00:16:3e:10:11:39"' },
  'three db servers on one IP': {
    edits: [addGuest('shea2', '[{ mac: "00:16:3e:10:11:39", bridge: bridge4, ip: 10.4.0.38 }]'), addGuest('shea3', '[{ mac: "00:16:3e:10:11:3a", bridge: bridge4, ip: 10.4.0.38 }]'), ['dbservers: [shea]', 'dbservers: [shea, shea2, shea3]']],
    code: 'duplicate-ip', message: /address 10\.4\.0\.38 is already shea vif 0's; shea and shea2 are both database servers, and ubik would count one server/, at: 'ip: 10.4.0.38 }]',
  },
  'IP 0.0.0.0': { edits: [['ip: 10.4.0.38', 'ip: 0.0.0.0']], code: 'load', message: /'0\.0\.0\.0' is in 0\.0\.0\.0\/8 \('this network'/, at: '0.0.0.0' },
  'IP 255.255.255.255': { edits: [['ip: 10.4.0.38', 'ip: 255.255.255.255']], code: 'load', message: /is the broadcast address/, at: '255.255.255.255' },
  'IP 127.0.0.1': { edits: [['ip: 10.4.0.38', 'ip: 127.0.0.1']], code: 'load', message: /is a loopback address/, at: '127.0.0.1' },
  'IP 224.0.0.1': { edits: [['ip: 10.4.0.38', 'ip: 224.0.0.1']], code: 'load', message: /is a multicast address \(224\.0\.0\.0\/4\)/, at: '224.0.0.1' },
  'MAC with the multicast bit': { edits: [['00:16:3e:10:11:38', '01:16:3e:10:11:38']], code: 'load', message: /is a multicast address \(bit 0 of the first octet, 01, is set\)/, at: '01:16:3e' },
  'MAC all zero': { edits: [['00:16:3e:10:11:38', '00:00:00:00:00:00']], code: 'load', message: /is all zero/, at: '00:00:00:00:00:00' },
  'MAC broadcast': { edits: [['00:16:3e:10:11:38', 'ff:ff:ff:ff:ff:ff']], code: 'load', message: /is the broadcast address/, at: 'ff:ff:ff:ff:ff:ff' },
  'volume name of 23 characters': { edits: [volume0('v'.repeat(23))], code: 'load', message: /is longer than 22 characters \(vos create/, at: 'v'.repeat(23) },
  'volume name ending .readonly': { edits: [volume0('home.readonly')], code: 'load', message: /refused by vos: "Illegal volume name home\.readonly, should not end in \.readonly or \.backup"/, at: 'home.readonly' },
  'volume name ending .backup': { edits: [volume0('home.backup')], code: 'load', message: /should not end in \.readonly or \.backup/, at: 'home.backup' },
  'volume name all digits': { edits: [volume0('"12345"')], code: 'load', message: /"Illegal volume name 12345, should not be a number"/, at: '"12345"' },
  'volume name ..': { edits: [volume0('..')], code: 'load', message: /is only dots/, at: '..,' },
  'volume name with a leading -': { edits: [volume0('-home')], code: 'load', message: /starts with '-': vos would read it as a switch/, at: '-home' },
  'partition past /vicepiu': { edits: [['fileservers: { shea: [/vicepa] }', 'fileservers: { shea: [/vicepa, /vicepiv] }']], code: 'load', message: /'\/vicepiv' is past \/vicepiu: OpenAFS numbers 255 partitions/, at: '/vicepiv' },
  'cell name over 63 characters': { edits: [['cell: awesmoe.org', `cell: ${'a'.repeat(60)}.org`]], code: 'load', message: /is longer than 63 characters \(OpenAFS keeps a cell name in char name\[MAXCELLCHARS\]/, at: 'aaaa' },
  'a realm of a megabyte': { edits: [['realm: AWESMOE.ORG', `realm: ${'A'.repeat(1 << 20)}`]], code: 'load', message: /^'realm' 'A{57}\.\.\.' is longer than 63 characters/, at: 'realm:' },
  'a root: of a megabyte': { edits: [['root: /dev/hda1 ro', `root: /dev/hda1 ${'x'.repeat(1 << 20)}`]], code: 'load', message: /is longer than 1018 characters \(xm hands root=<root> to a pv kernel/, at: 'root:' },
  'a kernel command line over COMMAND_LINE_SIZE': { edits: [['root: /dev/hda1 ro', `root: /dev/hda1 ro ${'x'.repeat(300)}`]], code: 'kernel-cmdline-too-long', message: /is 318 bytes; kernel linux-2\.6\.16\.29-xen-3\.0\.3 keeps 255 \(COMMAND_LINE_SIZE 256\)/, at: 'root:' },
  'memory past 2^53': { edits: [['memory: 128', 'memory: 9007199254740993']], code: 'load', message: /'memory' of guest 'shea' must be at most 16777216, got 9007199254740993$/, at: '9007199254740993' },
  'memory 1e300 MiB': { edits: [['memory: 1024', 'memory: 1e300']], code: 'load', message: /'memory' of host 'kraken' must be at most 16777216, got 1e300$/, at: '1e300' },
  'no root.cell volume': { edits: [[/ {4}- \{ name: root\.cell.*\n/, '']], code: 'afs-root-volume-missing', message: /has no root\.cell volume; a client mounts \/afs from root\.afs and \/afs\/awesmoe\.org from root\.cell, so shea could not mount the cell/, at: '- { name: root.afs' },
  'a fileserver on a bridge its db server is not on': {
    edits: [addGuest('shea2', '[{ mac: "00:16:3e:10:11:39", bridge: bridge3, ip: 10.4.0.39 }]'), ['fileservers: { shea: [/vicepa] }', 'fileservers: { shea: [/vicepa], shea2: [/vicepa] }']],
    code: 'service-unreachable', message: /shea2 cannot reach shea: a fileserver registers with the VLDB on the database servers, but they share no bridge and network \(shea2: bridge3 with 10\.0\.0\.0\/8; shea: bridge4 with 10\.0\.0\.0\/8\)/, at: 'vifs: [{ mac: "00:16:3e:10:11:39"',
  },
};

describe('refused by validate, at file:line:col', () => {
  for (const [name, row] of Object.entries(ROWS)) {
    it(name, () => {
      const file = write(row.edits);
      const got = validate(file);
      const hit = got.find((r) => r.code === row.code && row.message.test(r.message));
      expect(hit, JSON.stringify(got, null, 1).slice(0, 2000)).toBeDefined();
      expect(hit!.pos?.file).toBe(file);
      expect(hit!.pos?.line).toBe(at(file, row.at).line);
      expect(hit!.pos!.col).toBeGreaterThanOrEqual(1);
      expect(hit!.message.length, 'one screen').toBeLessThan(600);
    });
  }

  it('the unedited cell is valid (so each row is refused for its edit alone)', () => {
    expect(validate(write([]))).toEqual([]);
  });
});

describe('bounded inputs', () => {
  it('cpu_features with 50,000 entries: refused for its length, with a duplicate among them found too (linear uniqueItems)', () => {
    const feats = Array.from({ length: 50_000 }, (_, i) => `f${i}`);
    const file = write([['cpu_features: [pae]', `cpu_features: [${[...feats, 'f7'].join(', ')}]`]]);
    const got = validate(file).map((r) => r.message);
    expect(got.filter((m) => m.startsWith("'cpu_features' of host 'kraken' lists 50001 entries; the limit is 512"))).toHaveLength(1);
    expect(got.filter((m) => m.startsWith("'cpu_features' of host 'kraken' lists 'f7' twice"))).toHaveLength(1);
  });

  it('a listed module that is a gzip bomb, /dev/zero, or not ELF is refused at its line, naming the file', () => {
    // 300 gzip members of 1 MiB of zeros each: 300 MiB from ~300 KiB (gunzip reads every member).
    const bomb = join(dir, 'bomb.ko.gz');
    writeFileSync(bomb, Buffer.concat(Array(300).fill(gzipSync(Buffer.alloc(1 << 20)))));
    const text = join(dir, 'text.ko');
    writeFileSync(text, 'not a module\n');
    const file = write([['root: /dev/hda1 ro', `root: /dev/hda1 ro\n    extra_modules: [${bomb}, ${text}, /dev/zero/x.ko]`]]);
    const got = validate(file);
    const line = at(file, 'extra_modules').line;
    expect(got.find((r) => r.message.includes(`${bomb}: the module decompresses to more than 256 MiB`))?.pos?.line).toBe(line);
    expect(got.find((r) => r.message.includes(`${text}: not a kernel module: not an ELF file`))?.pos?.line).toBe(line);
    expect(got.find((r) => r.message.includes('/dev/zero/x.ko does not exist'))?.pos?.line).toBe(line);
  });

  it('a kernel whose Module.symvers is /dev/zero is refused at its line', () => {
    const file = write([['kernel: linux-2.6.16.29-xen-3.0.3', 'kernel: { symvers: /dev/zero, release: 2.6.16.29-xen, xen: 3.0.3 }']]);
    const got = validate(file);
    expect(got.find((r) => r.message.startsWith('Module.symvers /dev/zero is not a file'))?.pos?.line).toBe(at(file, 'symvers: /dev/zero').line);
  });

  it('a module listed twice, or listed and loaded by the AFS client anyway, is loaded once', () => {
    const file = write([['root: /dev/hda1 ro', 'root: /dev/hda1 ro\n    extra_modules: [openafs-1.4.2-linux]']]);
    expect(validate(file)).toEqual([]);
  });
});
