// cells/two-hosts.yaml on --driver xen through the CLI: two nested Xen hosts on one bridge with
// shared storage, shea (with /vicepa) and shea2 (openafs.ko, afsd) as domUs on kraken. status
// shows xl list's domains (shea ballooned for its KDC and AFS servers) and the services in them;
// console is the domU's boot log; migrate tries the real xl migrate and says why this Xen build
// cannot; migrate --cold moves shea2 with xl save + xl restore; destroy leaves nothing.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { netnsPrefix } from '../../../src/drivers/netns/layout.js';
import { CELLS } from '../../paths.js';
import { cellctl, cleanUp, leftovers, tempDir, title, type Run } from '../qemu/env.js';
import { xenDriverEnv } from './env.js';

const env = await xenDriverEnv();
const FILE = join(CELLS, 'two-hosts.yaml');
const CELL = 'two.awesmoe.org';

/** The rows of status's Domains table: id, name, host, memory. */
function domains(status: string): { id: number; name: string; host: string; mem: number }[] {
  const lines = status.split('\n');
  const from = lines.findIndex((l) => l.startsWith('Domains:'));
  const out = [];
  for (const l of lines.slice(from + 2)) {
    const m = /^ {2}(\d+)\s+(\S+)\s+(\S+)\s+.+?\)\s+(\d+)/.exec(l);
    if (!m) break;
    out.push({ id: Number(m[1]), name: m[2]!, host: m[3]!, mem: Number(m[4]) });
  }
  return out;
}

describe.skipIf(!env.ok)(title('cells/two-hosts.yaml on --driver xen: status, console, migrate (live refused, cold), destroy', env), () => {
  let work: string;
  let stateDir: string;
  let apply: Run;
  let destroyed = false;
  const run = (args: string[]) => cellctl([...args, '--state-dir', stateDir], 900_000);

  beforeAll(async () => {
    work = tempDir('xen-cell');
    stateDir = join(work, 'state');
    apply = await cellctl(['apply', FILE, '--driver', 'xen', '--state-dir', stateDir, '--auto-approve'], 1_500_000 + env.buildMs);
  }, 1_600_000 + env.buildMs);

  afterAll(async () => {
    if (!destroyed && existsSync(join(stateDir, CELL))) await cellctl(['destroy', FILE, '--state-dir', stateDir, '--auto-approve']);
    await cleanUp(work, stateDir, netnsPrefix(CELL, join(stateDir, CELL, 'xen')));
  }, 300_000);

  it('applies: two Xen hosts, two domUs, the KDC and AFS servers in shea, /vicepa, openafs.ko and afsd', () => {
    expect(apply.code, `${apply.stdout}\n${apply.stderr}`).toBe(0);
    expect(apply.stdout).toContain('Apply complete! Resources: 17 added, 0 changed, 0 destroyed.');
  });

  it('status shows xl list\'s domains with their ids and memory, and xl info\'s', async () => {
    const r = await run(['status', FILE]);
    expect(r.code, r.stderr).toBe(0);
    const d = domains(r.stdout);
    expect(d.filter((x) => x.name === 'Domain-0').map((x) => [x.host, x.id, x.mem])).toEqual([['kraken', 0, 256], ['squid', 0, 256]]);
    const guests = d.filter((x) => x.name !== 'Domain-0');
    // shea runs the KDC and the AFS servers: ballooned to 256 MiB (xl mem-set)
    expect(guests.map((x) => [x.name, x.host, x.mem]).sort()).toEqual([['shea', 'kraken', 256], ['shea2', 'kraken', 128]]);
    for (const g of guests) expect(g.id).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/host\.kraken\s+-\s+up\s+\d+\s+Xen 4\.17\.\d+ \(xl info: \d+ MiB/);
    expect(r.stdout).toMatch(/afs-client\.shea2\s+shea2\s+up\s+\d+\s+afsd pid \d+, \/afs mounted/);
    expect(r.stdout).toMatch(/kdc\.shea\s+shea\s+up\s+\d+\s+krb5kdc master/);
    expect(r.stdout).toMatch(/afs-db\.shea\s+shea\s+up\s+\d+\s+bosserver \d+; ptserver \d+/);
  }, 900_000);

  it('console shows the domU\'s boot from its first line, as xl create -c does', async () => {
    const r = await run(['console', FILE, 'shea2']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^\[\s*0\.000000\] Linux version \d/);
    expect(r.stdout).toContain('Hypervisor detected: Xen PV');
    expect(r.stdout).toContain('cellctl: insmod openafs.ko (module.shea2.openafs): exit 0');
  }, 120_000);

  it('migrate runs the real xl migrate and says why this Xen cannot move a PV domU live', async () => {
    const r = await run(['migrate', FILE, 'shea2', '--to', 'squid']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Failed to enable logdirty: 95');
    expect(r.stderr).toContain('CONFIG_SHADOW_PAGING is not set');
    expect(r.stderr).toContain('cellctl migrate --cold');
  }, 900_000);

  it('migrate --cold moves shea2 to squid with xl save + xl restore; afsd still runs there', async () => {
    const r = await run(['migrate', FILE, 'shea2', '--to', 'squid', '--cold']);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/^Migrated shea2 from kraken to squid \(domain id \d+\) \(cold: it was stopped meanwhile\)\./m);
    const s = await run(['status', FILE]);
    expect(domains(s.stdout).find((x) => x.name === 'shea2')).toMatchObject({ host: 'squid', mem: 128 });
    expect(s.stdout).toMatch(/afs-client\.shea2\s+shea2\s+up\s+\d+\s+afsd pid \d+, \/afs mounted/);
    const c = await run(['console', FILE, 'shea2']);
    expect(c.stdout).toMatch(/^\[\s*0\.000000\] Linux version \d/); // its boot, on kraken
    expect(c.stdout).toContain('--- shea2 moved to squid (cellctl migrate); its console there');
  }, 2_700_000);

  it('destroy leaves no QEMU, namespace or mount', async () => {
    const r = await cellctl(['destroy', FILE, '--state-dir', stateDir, '--auto-approve'], 600_000);
    destroyed = true;
    expect(r.code, r.stderr).toBe(0);
    expect(await leftovers(stateDir, netnsPrefix(CELL, join(stateDir, CELL, 'xen')))).toEqual([]);
    expect(existsSync(join(stateDir, CELL))).toBe(false);
  }, 600_000);
});
