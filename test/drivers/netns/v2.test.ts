// cells/tproa-full.yaml smoked on the netns driver through the CLI: groups (pts), keytabs (the KDC's own
// extraction), quotas (vos setfields), mount points and ACLs (libuafs pioctls as the administrator),
// read-only sites and their release, backup volumes, and a second realm (its own MIT KDC beside the
// cell's Heimdal one, cross-realm keys both ways, its user's AFS token in the cell), all made with the
// real commands and proved by the real KDCs and fileserver.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { capabilitiesOf } from '../../../src/drivers/capabilities.js';
import { helperMissing } from '../../../src/drivers/netns/client.js';
import { createNetnsDriver, type NetnsDriver } from '../../../src/drivers/netns/index.js';
import type { Registry } from '../../../src/drivers/netns/layout.js';
import { deriveChecks } from '../../../src/ops/checks.js';
import { splitManaged } from '../../../src/plan/desired.js';
import type { Resource } from '../../../src/plan/resources.js';
import { principalPassword } from '../../../src/state/secrets.js';
import { CELLS, CLI } from '../../paths.js';
import { bringUp, openCell, saveState, type Cell, netnsHeimdalPrerequisites } from './helpers.js';

const pre = netnsHeimdalPrerequisites(); // the tproa cells declare Heimdal
const missing = pre.ok ? helperMissing() : pre.reason;

interface CheckOut { id: string; kind: string; status: string; message: string; detail: string | null }

describe.skipIf(!!missing)(`netns: cell file v2 for real${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let dir: string | undefined;
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('smoke passes every check of tproa-full, the second realm\'s too, each through the real servers', async () => {
    dir = mkdtempSync(join(tmpdir(), 'cellctl-netns-v2-'));
    const r = await execa('node', [CLI, 'smoke', join(CELLS, 'tproa-full.yaml'), '--driver', 'netns', '--json', '--state-dir', dir], { reject: false, env: { ...process.env, CI: '1' } });
    const out = JSON.parse(r.stdout) as { result: string; summary: { passed: number; failed: number; skipped: number }; checks: CheckOut[]; teardown: { status: string } };
    const table = out.checks.map((c) => `${c.status.padEnd(4)} ${c.id}: ${c.message}`).join('\n');
    expect(out.summary.failed, table).toBe(0);
    expect(out.result, table).toBe('passed');
    const skipped = out.checks.filter((c) => c.status === 'skip');
    expect(skipped.map((c) => c.id)).toEqual(['client-module.service-m1']); // afsd.fuse: no kernel module
    expect(out.summary).toMatchObject({ passed: out.checks.length - 1, failed: 0, skipped: 1 });
    const of = (kind: string) => out.checks.filter((c) => c.kind === kind);
    const byId = (id: string) => out.checks.find((c) => c.id === id)!;
    // two realms, two KDC implementations: the cell's Heimdal 0.72 as Heimdal 7.8, ATHENA's MIT 1.4.4 as MIT 1.20
    expect(byId('kdc-answers.service-m1')).toMatchObject({ status: 'pass', message: expect.stringMatching(/^Heimdal kdc \(pid \d+\) at 10\.3\.0\.11 answers for TPROA\.NET/) });
    expect(byId('kdc-answers.athena')).toMatchObject({ status: 'pass', message: expect.stringMatching(/^krb5kdc \(pid \d+\) at 10\.3\.0\.12 answers for ATHENA\.TPROA\.NET/) });
    expect(byId('kinit.bob@ATHENA.TPROA.NET@service-m1')).toMatchObject({ status: 'pass', message: 'kinit bob@ATHENA.TPROA.NET from service-m1: TGT issued' });
    expect(byId('kinit.bob@ATHENA.TPROA.NET@service-m1').detail).toContain('krbtgt/ATHENA.TPROA.NET@ATHENA.TPROA.NET');
    // a foreign-realm user's token: only TPROA.NET's KDC holds afs/tproa.net, so the ticket came through the trust
    expect(byId('cross-realm-token.bob@ATHENA.TPROA.NET')).toMatchObject({
      status: 'pass',
      message: expect.stringMatching(/^bob@ATHENA\.TPROA\.NET: the fileserver accepted the rxkad token from aklog through krbtgt\/TPROA\.NET@ATHENA\.TPROA\.NET .*AFS ID \d+ = pts id of bob@athena\.tproa\.net/),
    });
    const passed = (kind: string, n: number) => {
      expect(of(kind).map((c) => c.status), kind).toEqual(Array(n).fill('pass'));
      return of(kind);
    };
    // a write allowed to one user and refused to another, by the fileserver's ACL (one by a negative entry)
    for (const c of passed('acl-write', 3)) expect(c.message).toMatch(/refused \S+'s: .*Permission denied/);
    // over quota (and the fileserver's catalog spare): EDQUOT from the fileserver
    for (const c of passed('quota-exceeded', 2)) expect(c.message).toMatch(/was refused: close .*Disk quota exceeded/);
    // the RO clone serves the released content only, and refuses writes
    expect(passed('ro-release', 1)[0]!.message).toMatch(/Read-only file system/);
    expect(passed('mount-point', 3).map((c) => c.message.replace(/ \(\d+\)$/, ''))).toEqual([
      "'/afs/tproa.net/home' is a mount point for volume '#home'; it reaches home",
      "'/afs/tproa.net/scratch' is a mount point for volume '#scratch'; it reaches scratch",
      "'/afs/tproa.net/home/OldFiles' is a mount point for volume '#home.backup'; it reaches home.backup",
    ]);
    expect(passed('pts-group', 1)[0]!.message).toBe('kula:friends: amy, bob@athena.tproa.net');
    // the keytab's keys suit the MIT krb5 1.20 clients here: single DES is asked for and not there
    const kt = passed('keytab-kinit', 1)[0]!.message;
    expect(kt).toMatch(/keytab keys: aes/);
    expect(kt).not.toMatch(/des-cbc/);
    expect(out.teardown.status).toBe('pass');
  }, 300_000);
});

describe.skipIf(!!missing)(`netns: vos move in place${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let cell: Cell;
  let driver: NetnsDriver;
  afterAll(async () => {
    if (driver) await driver.destroyAll();
    if (cell) rmSync(cell.root, { recursive: true, force: true });
  }, 60_000);

  it('moves scratch to another partition with vos move: its quota, ACL and mount point still hold there', async () => {
    cell = openCell(join(CELLS, 'tproa-full.yaml'));
    cell.resources = splitManaged(cell.resources, capabilitiesOf('netns'), cell.spec).managed;
    driver = createNetnsDriver(cell.ctx);
    await bringUp(cell, driver);
    const vol = cell.resources.find((r) => r.address === 'volume.scratch') as Resource & { type: 'volume' };
    const moved = { ...vol, attrs: { ...vol.attrs, partition: '/vicepa' } };
    await driver.update({ ...cell.applied[vol.address]!, address: vol.address, name: vol.name } as never, moved);
    const reg = driver.snapshot() as Registry;
    const ex = await execa('ip', ['netns', 'exec', reg.guests['service-m1']!.ns, 'vos', 'examine', 'scratch', '-noauth', '-config', join(cell.ctx.stateDir, 'netns', 'guests', 'service-m1', 'root', 'etc', 'openafs')], { reject: false });
    expect(ex.stdout, ex.stderr).toMatch(/server \S+ partition \/vicepa RW Site/);
    expect(ex.stdout).toMatch(/MaxQuota\s+64 K/);
    // the checks of scratch, after the move: its ACL (kept in the volume), its quota, its mount point
    const resources = cell.resources.map((r) => (r.address === vol.address ? moved : r));
    const checks = deriveChecks(cell.spec.cell, cell.spec.realm, resources).filter((c) => /scratch/.test(c.id));
    expect(checks.map((c) => c.kind).sort()).toEqual(['acl-write', 'mount-point', 'quota-exceeded', 'volume-listed']);
    for (const c of checks) {
      const r = await driver.check(c);
      expect(r.status, `${c.id}: ${r.message}\n${r.detail ?? ''}`).toBe('pass');
    }
  }, 240_000);

  it('exec --as another realm\'s user: its TGT from its own KDC, the cross-realm TGT, and afs/<cell> from the cell\'s KDC', async () => {
    saveState(cell, driver.snapshot());
    const bob = 'bob@ATHENA.TPROA.NET';
    const password = principalPassword(cell.ctx.secrets, bob);
    const r = await execa('node', [CLI, 'exec', '--state-dir', cell.root, cell.spec.file, 'service-m1', '--as', bob, '--', 'klist'], { reject: false, env: { ...process.env, CI: '1' } });
    expect(r.exitCode, r.stderr).toBe(0);
    const text = { out: r.stdout, err: r.stderr };
    expect(text.out).toMatch(/Default principal: bob@ATHENA\.TPROA\.NET/);
    expect(text.out).toMatch(/krbtgt\/ATHENA\.TPROA\.NET@ATHENA\.TPROA\.NET/); // from athena's MIT KDC
    expect(text.out).toMatch(/krbtgt\/TPROA\.NET@ATHENA\.TPROA\.NET/); // the trust: the same key in both KDCs
    expect(text.out).toMatch(/afs\/tproa\.net@TPROA\.NET/); // from service-m1's Heimdal KDC, for aklog
    expect(`${text.out}${text.err}`).not.toContain(password);
  }, 60_000);
});
