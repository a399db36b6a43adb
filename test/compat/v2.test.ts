// Cell file v2 (cells/tproa-full.yaml) refused where an AFS or Kerberos administrator would be
// refused: by the loader's references (one row per check) or a compat rule, at the line to change.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/catalog/load.js';
import { runCompat } from '../../src/compat/index.js';
import { loadCell } from '../../src/config/load.js';
import { UserError, type SourcePos } from '../../src/diagnostics.js';
import { PACKAGE_ROOT } from '../../src/paths.js';

const catalog = loadCatalog();
const dir = mkdtempSync(join(tmpdir(), 'cellctl-v2-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const BASE = readFileSync(join(PACKAGE_ROOT, 'cells', 'tproa-full.yaml'), 'utf8');

let n = 0;
function write(edits: [string | RegExp, string][]): string {
  let text = BASE;
  for (const [from, to] of edits) {
    const next = text.replace(from, to);
    if (next === text) throw new Error(`edit ${String(from)} did not apply`);
    text = next;
  }
  const file = join(dir, `cell${n++}.yaml`);
  writeFileSync(file, text);
  return file;
}

function validate(file: string, severity: 'error' | 'warning' = 'error'): { code: string; message: string; pos?: SourcePos }[] {
  try {
    return runCompat(loadCell(file, catalog), catalog).filter((f) => f.severity === severity).map((f) => ({ code: f.code, message: f.message, ...(f.pos ? { pos: f.pos } : {}) }));
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    return e.diagnostics.map((d) => ({ code: 'load', message: `${d.message}${d.hint ? ` (${d.hint})` : ''}`, ...(d.pos ? { pos: d.pos } : {}) }));
  }
}

const lineOf = (file: string, needle: string) => readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes(needle)) + 1;

const ROWS: Record<string, { edits: [string | RegExp, string][]; code: string; message: RegExp; at: string; severity?: 'warning' }> = {
  'a trust with a realm not declared': { edits: [['trusts: [ATHENA.TPROA.NET]', 'trusts: [ATHENA.TPROA.NE]']], code: 'load', message: /names realm ATHENA\.TPROA\.NE, which is not one of realms: \(did you mean ATHENA\.TPROA\.NET\?\)/, at: 'trusts:' },
  'a guest that is a KDC of two realms': { edits: [['kdcs: [athena]', 'kdcs: [service-m1]']], code: 'load', message: /guest 'service-m1' is a KDC of TPROA\.NET and of ATHENA\.TPROA\.NET/, at: '    kdcs: [service-m1]' },
  'an AFS user no principal has': { edits: [['amy: { id: 1001 }', 'amie: { id: 1001 }']], code: 'load', message: /unknown AFS user 'amie' \(no principal of the cell's realm has that pts name\) \(expected one of: kula, kula\.admin, amy, /, at: 'amie:' },
  'a foreign user of an undeclared realm': { edits: [['members: [amy, bob@athena.tproa.net]', 'members: [amy, bob@mit.edu]']], code: 'load', message: /unknown AFS user 'bob@mit\.edu' \(the realm MIT\.EDU is not one of realms:\)/, at: 'bob@mit.edu' },
  'a mount point outside the cell': { edits: [['/afs/tproa.net/scratch: scratch', '/afs/other.org/scratch: scratch']], code: 'load', message: /mount point \/afs\/other\.org\/scratch is not below \/afs\/tproa\.net/, at: '/afs/other.org/scratch' },
  'a mount point in a directory cellctl does not make': { edits: [['/afs/tproa.net/scratch: scratch', '/afs/tproa.net/tmp/scratch: scratch']], code: 'load', message: /is in \/afs\/tproa\.net\/tmp, which is neither \/afs\/tproa\.net nor a mount point/, at: '/afs/tproa.net/tmp/scratch' },
  'one directory entry mounted twice (RO and RW path)': { edits: [['/afs/tproa.net/scratch: scratch', '/afs/tproa.net/scratch: scratch\n    /afs/.tproa.net/scratch: { volume: scratch, rw: true }']], code: 'load', message: /is the same directory entry as \/afs\/tproa\.net\/scratch/, at: '/afs/.tproa.net/scratch' },
  'a backup mounted without one': { edits: [['quota: 100000, backup: true', 'quota: 100000']], code: 'load', message: /names home\.backup, but home has no backup volume/, at: 'home.backup' },
  'a .readonly mount of an unreplicated volume': { edits: [['/afs/tproa.net/scratch: scratch', '/afs/tproa.net/scratch: scratch.readonly']], code: 'load', message: /names scratch\.readonly, but scratch has no replicas/, at: 'scratch.readonly' },
  'an ACL on a directory that is no volume root': { edits: [['/afs/tproa.net/scratch: { system', '/afs/tproa.net/tmp: { system']], code: 'load', message: /ACL for \/afs\/tproa\.net\/tmp: not a volume's root directory/, at: '/afs/tproa.net/tmp:' },
  'an ACL naming no one': { edits: [['kula: all, amy: -idw', 'kula: all, amie: -idw']], code: 'load', message: /names 'amie', which is no AFS user or group of the cell \(expected one of: .*amy/, at: '/afs/tproa.net/home: {' },
  'rights that are no rights': { edits: [['kula: all, amy', 'kula: rwx, amy']], code: 'load', message: /kula/, at: 'kula: rwx' },
  'a replica on a partition the server lacks': { edits: [[/replicas: \[\{ server: service-m1, partition: \/vicepa \}\] \}\n    - \{ name: home/, 'replicas: [{ server: service-m1, partition: /vicepz }] }\n    - { name: home'], ], code: 'load', message: /partition '\/vicepz', which fileserver 'service-m1' does not have/, at: '/vicepz' },
  'a keytab for a password principal': { edits: [['principal: host/service-m1.tproa.net', 'principal: amy']], code: 'load', message: /keytab for amy: it is a password principal of this realm/, at: 'principal: amy' },
  'a keytab enctype the KDC does not make': { edits: [['enctypes: [des-cbc-crc, des-cbc-md5]', 'enctypes: [camellia256-cts-cmac]']], code: 'keytab-enctype-unsupported', message: /heimdal-0\.72 does not make camellia256-cts-cmac keys for host\/service-m1\.tproa\.net@TPROA\.NET/, at: 'camellia256' },
  'single DES asked of MIT krb5 1.20': { edits: [['software: heimdal-0.72\n  kdcs', 'software: mit-krb5-1.20\n  kdcs'], ['software: openafs-1.4.2', 'software: openafs-1.8.9'], ['clients: { service-m1: arla-0.43 }', 'clients: {}']], code: 'keytab-enctype-unsupported', message: /mit-krb5-1\.20 does not make des-cbc-crc, des-cbc-md5 keys .* quietly makes .*aes/, at: 'enctypes: [des-cbc-crc' },
  'OpenAFS 1.4 servers with a KDC without single DES': { edits: [['software: heimdal-0.72\n  kdcs', 'software: mit-krb5-1.20\n  kdcs'], ['enctypes: [des-cbc-crc, des-cbc-md5]', 'enctypes: [aes256-cts-hmac-sha1-96]']], code: 'afs-service-key-enctype', message: /openafs-1\.4\.2 servers take des-cbc-crc, des-cbc-md5, des-cbc-md4 keys for afs\/tproa\.net; mit-krb5-1\.20 makes none of them/, at: 'software: mit-krb5-1.20' },
  'a foreign user without the trust': { edits: [['  trusts: [ATHENA.TPROA.NET]              # krbtgt/ATHENA.TPROA.NET@TPROA.NET and back\n', '']], code: 'afs-foreign-realm-untrusted', message: /bob@athena\.tproa\.net is a user of ATHENA\.TPROA\.NET, which TPROA\.NET does not trust/, at: 'bob@athena.tproa.net' },
  'a group named for another owner': { edits: [['kula:friends: { members', 'amy:friends: { owner: kula, members'], ['kula:friends: write, kula', 'amy:friends: write, kula'], ['kula:friends: write }', 'amy:friends: write }']], code: 'pts-group-prefix', message: /pts creategroup amy:friends -owner kula: Badly formed name/, at: 'amy:friends: { owner' },
  'the anonymous id given to a user': { edits: [['kula: { id: 1000 }', 'kula: { id: 32766 }']], code: 'pts-id-conflict', message: /unable to create kula with id 32766 \(anonymous, built in has it\)/, at: 'id: 32766' },
  'two users with one id': { edits: [['amy: { id: 1001 }', 'amy: { id: 1000 }']], code: 'pts-id-conflict', message: /unable to create amy with id 1000 \(kula has it\)/, at: 'amy: { id: 1000 }' },
  'rights without l': { edits: [['kula:friends: write }', 'kula:friends: rw }']], code: 'acl-without-lookup', message: /kula:friends has rw on \/afs\/tproa\.net\/scratch but not l/, at: 'kula:friends: rw', severity: 'warning' },
  'a replicated volume mounted only from an unreplicated one': { edits: [[/- \{ name: root\.afs,  server: service-m1, partition: \/vicepa, replicas: \[\{ server: service-m1, partition: \/vicepa \}\] \}/, '- { name: root.afs,  server: service-m1, partition: /vicepa }']], code: 'ro-clone-unreachable', message: /root\.cell has read-only sites, but it is mounted only in root\.afs, which is not replicated/, at: 'name: root.cell', severity: 'warning' },
};

describe('cell file v2, refused where OpenAFS or Kerberos would refuse it', () => {
  it('tproa-full.yaml itself is valid, with no warning but Arla\'s known issue', () => {
    const file = write([]);
    expect(validate(file)).toEqual([]);
    expect(validate(file, 'warning').map((f) => f.code)).toEqual(['arla-panic-reports']);
  });

  for (const [name, row] of Object.entries(ROWS)) {
    it(name, () => {
      const file = write(row.edits);
      const got = validate(file, row.severity);
      const hit = got.find((r) => r.code === row.code && row.message.test(r.message));
      expect(hit, JSON.stringify(got, null, 1).slice(0, 2000)).toBeDefined();
      expect(hit!.pos?.file).toBe(file);
      expect(hit!.pos?.line).toBe(lineOf(file, row.at));
    });
  }
});
