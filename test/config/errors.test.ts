// Bad input, class by class: each is a UserError with every problem found, positioned, worded, hinted.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import { loadCatalog } from '../../src/catalog/load.js';
import { UserError, type Diagnostic } from '../../src/diagnostics.js';
import { loadCell, parseCell } from '../../src/config/load.js';

const catalog = loadCatalog();
const tmp = mkdtempSync(join(tmpdir(), 'cellctl-spec-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function problems(fn: () => unknown): Diagnostic[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof UserError) return e.diagnostics;
    throw e;
  }
  throw new Error('expected a UserError');
}

/** "line:col message | hint", so one assertion covers position, wording and hint. */
const show = (ds: Diagnostic[]) => ds.map((d) => `${d.pos ? `${d.pos.line}:${d.pos.col} ` : ''}${d.message}${d.hint ? ` | ${d.hint}` : ''}`);
const fixture = (name: string) => show(problems(() => loadCell(`test/fixtures/${name}`, catalog)));
const text = (t: string) => show(problems(() => parseCell(t, 'x.yaml', catalog)));

describe('files that cannot be cell files', () => {
  test('missing file', () => {
    expect(fixture('nope.yaml')).toEqual([`cell file test/fixtures/nope.yaml does not exist | looked for ${process.cwd()}/test/fixtures/nope.yaml`]);
  });

  test('a directory, with the cell files in it as the hint', () => {
    const dir = join(tmp, 'cells');
    mkdirSync(dir);
    for (const f of ['b.yaml', 'a.yml', 'notes.txt']) writeFileSync(join(dir, f), '');
    expect(show(problems(() => loadCell(dir, catalog)))).toEqual([`${dir} is a directory, not a cell file | cell files in it: a.yml, b.yaml`]);
  });

  test('too large: refused from its size, before reading, naming the limit', () => {
    const big = join(tmp, 'big.yaml');
    writeFileSync(big, '');
    truncateSync(big, 33 * 1024 * 1024); // sparse: no real data written
    expect(show(problems(() => loadCell(big, catalog)))).toEqual([`cell file ${big} is 33.0 MiB; the limit is 32.0 MiB | is this really a cell file?`]);
  });

  test('empty file, and a file of comments', () => {
    const hint = 'a cell file is a mapping with cell:, hosts: and guests: (and optionally realm:, kerberos:, afs:)';
    expect(fixture('bad-empty.yaml')).toEqual([`1:1 the cell file is empty | ${hint}`]);
    expect(text('# nothing here\n\n---\n')).toEqual([`1:1 the cell file is empty | ${hint}`]);
  });

  test('not UTF-8: the first bad byte is located', () => {
    expect(fixture('bad-latin1.yaml')).toEqual(['4:20 the cell file is not UTF-8 text: invalid byte 0xe9 | save it as UTF-8 (is it a binary file?)']);
    const utf16 = join(tmp, 'utf16.yaml');
    writeFileSync(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('cell: x\n', 'utf16le')]));
    expect(show(problems(() => loadCell(utf16, catalog)))).toEqual(['1:1 the cell file is UTF-16 text; cell files are UTF-8 | save it as UTF-8']);
  });

  test('binary junk that happens to be valid UTF-8', () => {
    expect(fixture('bad-binary.yaml')).toEqual(['1:1 the cell file contains binary data (control character 0x7f) | a cell file is UTF-8 YAML text']);
    expect(text('cell: tproa.net\nrealm: A\u0000B\n')).toEqual(['2:9 the cell file contains binary data (control character 0x00) | a cell file is UTF-8 YAML text']);
  });
});

describe('YAML problems', () => {
  test('malformed YAML keeps the parser position', () => {
    expect(fixture('bad-syntax.yaml')).toEqual(['6:1 invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]']);
  });

  test('duplicate keys point at the second, with the first in the hint', () => {
    expect(fixture('bad-duplicate-key.yaml')).toEqual(["10:5 duplicate key 'memory' in guest 'shea' | first defined at line 9"]);
  });

  test('a second document', () => {
    expect(fixture('bad-two-docs.yaml')).toEqual(["4:1 a second YAML document starts here; a cell file holds one | remove the '---' line"]);
  });

  test('top level that is not a mapping', () => {
    const hint = 'a cell file is a mapping with cell:, hosts: and guests: (and optionally realm:, kerberos:, afs:)';
    expect(fixture('bad-top-level.yaml')).toEqual([`1:1 the top level of a cell file must be a mapping of keys, got a list | ${hint}`]);
    expect(text('tproa.net\n')).toEqual([`1:1 the top level of a cell file must be a mapping of keys, got a single value | ${hint}`]);
  });

  test('an alias bomb is stopped at the expansion limit', () => {
    expect(fixture('bad-alias-bomb.yaml')).toEqual([
      '3:16 YAML aliases expand to more than 1,000,000 nodes (the limit); is this an alias bomb? | write the repeated parts out, or alias smaller nodes',
    ]);
  });

  test('alias cycles and aliases to nothing', () => {
    expect(text('cell: &c [*c]\nhosts: {}\nguests: {}\n')).toContain('1:11 alias *c refers to a node that contains it (a cycle)');
    expect(text('cell: *nope\nhosts: {}\nguests: {}\n')).toContain('1:7 alias *nope refers to no anchor defined before it | define it first with &nope');
  });

  test('deep nesting is refused before parsing, not a stack overflow', () => {
    const msg = 'the document is nested more than 100 levels deep';
    expect(text('cell: ' + '['.repeat(100_000) + ']'.repeat(100_000))).toEqual([`1:106 ${msg}`]);
    expect(text('cell: ' + '{a: '.repeat(101) + '1' + '}'.repeat(101))).toEqual([`1:403 ${msg}`]);
    expect(text('- '.repeat(100_000) + 'x')).toEqual([`1:201 ${msg}`]);
    expect(text(Array.from({ length: 3000 }, (_, i) => ' '.repeat(i) + 'k:').join('\n'))).toEqual([`101:101 ${msg}`]);
    // 99 levels under 'cell' parse (and then fail the schema, which is not what this is about).
    expect(text('cell: ' + '['.repeat(99) + ']'.repeat(99)).join('\n')).not.toContain('nested');
  });
});

describe('schema problems', () => {
  test('unknown keys: at the key, with the nearest valid key', () => {
    expect(fixture('bad-unknown-key.yaml')).toEqual([
      "13:3 missing required key 'memory' in guest 'service-m1' | memory: MiB of RAM at boot (xm memory)",
      "17:5 unknown key 'memroy' in guest 'service-m1' | did you mean memory?",
      "19:69 unknown key 'bridg' in vifs[0] of guest 'service-m1' | did you mean bridge?",
    ]);
    const d = problems(() => loadCell('test/fixtures/bad-unknown-key.yaml', catalog))[1];
    expect(d.pos).toEqual({ file: 'test/fixtures/bad-unknown-key.yaml', line: 17, col: 5 });
  });

  test('wrong types and formats, all reported at once', () => {
    expect(fixture('bad-types.yaml')).toEqual([
      "1:7 'cell' 'Tproa.net' is not a lower-case DNS-like name such as tproa.net | did you mean tproa.net?",
      "2:8 'realm' 'tproa.net' is not an upper-case realm such as TPROA.NET | did you mean TPROA.NET?",
      "7:13 'memory' of host 'kraken' must be a whole number, got '1G'",
      "8:19 'cpu_features' of host 'kraken' must be a list, got 'pae' | write a list: [pae]",
      "9:24 'bridges' of host 'kraken' lists 'bridge3' twice | it is also item 1; remove one",
      "15:11 'type' of guest 'shea' must be one of pv, hvm, got 'pvm' | did you mean pv?",
      "16:5 'memory' of guest 'shea' must be a whole number, got nothing | the value is empty",
      "17:12 'vcpus' of guest 'shea' must be at least 1, got 0",
      "19:16 'vifs[0].mac' of guest 'shea' '00:16:3e:10:11' is not a MAC address such as 00:16:3e:10:11:c4",
      "19:55 'vifs[0].ip' of guest 'shea' '10.4.0.300' is not an IPv4 address such as 10.3.0.11",
      "20:3 guest name 'Bad_Name' is not a name of lower-case letters, digits and '-' (like a DNS label)",
      "27:14 'afs.dbservers' must list at least 1 entry | Guests running the database servers (ptserver, vlserver); an odd number keeps ubik's quorum",
      "28:25 'afs.fileservers.shea[0]' 'vicepa' is not an AFS partition, /vicepa to /vicepiu | did you mean /vicepa?",
    ]);
  });

  test('a name where a string is expected: quote it', () => {
    const t = 'cell: tproa.net\nhosts: {}\nguests: {}\nkerberos: { software: heimdal-0.72, kdcs: [1234] }\n';
    expect(text(t)).toEqual(['4:44 \'kerberos.kdcs[0]\' must be a string, got 1234 | quote it: "1234"']);
  });
});

describe('semantic problems', () => {
  test('dangling references and catalog ids, each with the nearest valid name', () => {
    expect(fixture('bad-refs.yaml')).toEqual([
      "4:9 unknown OS 'netbsd-4.0-beta' in host 'kraken' | did you mean netbsd-4.0_beta?",
      "5:10 unknown Xen release '3.0.5' in host 'kraken' | did you mean 3.0.2?",
      "9:11 unknown host 'krakn' in guest 'service-m1' | did you mean kraken?",
      "10:9 unknown OS 'netbsd-3.l' in guest 'service-m1' | did you mean netbsd-3.1?",
      "11:13 unknown kernel 'netbsd-3.1-xen3-domu-nodig' in guest 'service-m1' | did you mean netbsd-3.1-xen3-domu-nodiag?",
      "13:13 'maxmem' of guest 'service-m1' is 128 MiB, less than its memory (256 MiB) | maxmem is what the guest may balloon up to; it must be at least memory",
      "15:9 bad disk 'file:/local/xen/service-m1.tproa.net/wd0.img,0x01': expected 3 comma-separated fields (backend:target, virtual device, mode), found 2 ('disks[0]' of guest 'service-m1') | e.g. 'file:/local/xen/x/wd0.img,0x01,w' or 'phy:/dev/wd2d,0x02,w'",
      "16:9 bad disk 'phy:/dev/wd2d,0x02,rw': mode 'rw' is neither r nor w ('disks[1]' of guest 'service-m1') | use r (read-only) or w (read-write; w! to share)",
      "17:21 unknown kernel module 'arla-0.43-nnfs' in extra_modules of guest 'service-m1' | did you mean arla-0.43-nnpfs?",
      `17:37 kernel module ${process.cwd()}/test/fixtures/missing/nnpfs.ko does not exist ('extra_modules[1]' of guest 'service-m1') | relative paths are taken from the cell file's directory`,
      "19:13 unknown software 'heimdal-0.27' in kerberos | did you mean heimdal-0.72?",
      "20:10 unknown guest 'service-m2' in kerberos.kdcs | did you mean service-m1?",
      "21:22 'kerberos.principals' lists 'kula' twice | it is also item 1; remove one",
      "25:41 unknown guest 'service-n1' in afs.fileservers | did you mean service-m1?",
      "26:26 unknown software 'arla-0.34' in afs.clients | did you mean arla-0.43?",
      "28:56 volume 'root.afs' is on partition '/vicepb', which fileserver 'service-m1' does not have | did you mean /vicepa?",
      "29:15 duplicate volume 'root.afs' in afs.volumes | it is also afs.volumes[0], line 28",
      "29:33 unknown guest 'kraken' in afs.volumes[1] | expected one of: service-m1",
    ]);
  });

  test('a volume on a guest that is not a fileserver', () => {
    const t = readFileSync('cells/tproa.yaml', 'utf8').replace('fileservers: { service-m1: [/vicepa] }', 'fileservers: {}');
    expect(text(t)).toEqual([
      "43:34 volume 'root.afs' is on 'service-m1', which is not an AFS fileserver | add it to afs.fileservers, or use a fileserver",
      "44:34 volume 'root.cell' is on 'service-m1', which is not an AFS fileserver | add it to afs.fileservers, or use a fileserver",
    ]);
  });

  test('more than 20 problems: the first 20 by position, then a count', () => {
    const guests = Array.from({ length: 30 }, (_, i) => `  g${i}: { host: h, os: netbsd-3.1, kernel: netbsd-3.1-xen3-domu, memory: 1 }`);
    const out = text(['cell: tproa.net', 'hosts: {}', 'guests:', ...guests].join('\n'));
    expect(out).toHaveLength(21);
    expect(out[0]).toBe("4:15 unknown host 'h' in guest 'g0'");
    expect(out[19]).toBe("23:16 unknown host 'h' in guest 'g19'");
    expect(out[20]).toBe('... and 10 more problems');
  });
});

describe('never a raw exception', () => {
  test('random edits of a good cell give a spec or a UserError', () => {
    const base = readFileSync('cells/tproa.yaml', 'utf8');
    const edit = fc.tuple(fc.nat(), fc.nat({ max: 20 }), fc.string({ maxLength: 8, unit: 'binary' }));
    fc.assert(
      fc.property(edit, ([at, del, ins]) => {
        const i = at % (base.length + 1);
        const t = base.slice(0, i) + ins + base.slice(i + del);
        try {
          parseCell(t, 'x.yaml', catalog);
        } catch (e) {
          if (!(e instanceof UserError)) throw e;
          for (const d of e.diagnostics) expect(d.message).not.toBe('');
        }
      }),
      { numRuns: 1500 },
    );
  });
});
