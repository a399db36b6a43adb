// cells/tproa-full.yaml smoked on the netns driver through the CLI: groups (pts), keytabs (kadmin.local
// ktadd), quotas (vos setfields), mount points and ACLs (libuafs pioctls as the administrator), read-only
// sites and their release, backup volumes, all made with the real commands and proved by the real
// fileserver; what the driver leaves (a second realm) skipped with its reason.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { helperMissing } from '../../../src/drivers/netns/client.js';
import { netnsPrerequisites } from '../../../src/drivers/netns/index.js';
import { CELLS, CLI } from '../../paths.js';

const pre = netnsPrerequisites();
const missing = pre.ok ? helperMissing() : pre.reason;

interface CheckOut { id: string; kind: string; status: string; message: string; detail: string | null }

describe.skipIf(!!missing)(`netns: cell file v2 for real${missing ? ` (skipped: ${missing})` : ''}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'cellctl-netns-v2-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('smoke passes every check of tproa-full but those of the second realm, each through the real servers', async () => {
    const r = await execa('node', [CLI, 'smoke', join(CELLS, 'tproa-full.yaml'), '--driver', 'netns', '--json', '--state-dir', dir], { reject: false, env: { ...process.env, CI: '1' } });
    const out = JSON.parse(r.stdout) as { result: string; summary: { passed: number; failed: number; skipped: number }; checks: CheckOut[]; teardown: { status: string } };
    const table = out.checks.map((c) => `${c.status.padEnd(4)} ${c.id}: ${c.message}`).join('\n');
    expect(out.summary.failed, table).toBe(0);
    expect(out.result, table).toBe('passed');
    const skipped = out.checks.filter((c) => c.status === 'skip');
    expect(skipped.map((c) => c.id).sort()).toEqual([
      'client-module.service-m1', 'cross-realm-token.bob@ATHENA.TPROA.NET', 'kdc-answers.athena', 'kinit.bob@ATHENA.TPROA.NET@service-m1',
    ]);
    for (const c of skipped.filter((x) => x.kind !== 'client-module')) expect(c.message).toMatch(/not managed by netns \(the netns driver runs one realm/);
    const of = (kind: string) => out.checks.filter((c) => c.kind === kind);
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
    // the keytab's keys are what MIT krb5 1.20 makes: single DES is asked for and not there
    const kt = passed('keytab-kinit', 1)[0]!.message;
    expect(kt).toMatch(/keytab keys: aes/);
    expect(kt).not.toMatch(/des-cbc/);
    expect(out.teardown.status).toBe('pass');
  }, 300_000);
});
