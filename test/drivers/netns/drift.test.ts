// Drift of cell file v2 on netns, read back from the real servers: tproa-full applied, plan finds no
// changes; a group member removed, a quota set, an RO site and a backup volume removed by hand with
// the real pts and vos show in plan as what was found, apply puts them back, and plan is clean again.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { helperMissing } from '../../../src/drivers/netns/client.js';
import { netnsCleanup, netnsPrerequisites } from '../../../src/drivers/netns/index.js';
import { netnsPrefix } from '../../../src/drivers/netns/layout.js';
import { CELLS, CLI } from '../../paths.js';

const pre = netnsPrerequisites();
const missing = pre.ok ? helperMissing() : pre.reason;

describe.skipIf(!!missing)(`netns: drift of groups, quotas, RO sites and backups, read from the servers${missing ? ` (skipped: ${missing})` : ''}`, () => {
  const work = mkdtempSync(join(tmpdir(), 'cellctl-drift-'));
  const file = join(work, 'tproa-full.yaml');
  const root = join(work, 'state');
  writeFileSync(file, readFileSync(join(CELLS, 'tproa-full.yaml'), 'utf8'));
  const cellctl = (args: string[]) => execa('node', [CLI, args[0]!, file, '--state-dir', root, ...args.slice(1)], { reject: false, env: { ...process.env, CI: '1' }, timeout: 300_000 });
  afterAll(async () => {
    await cellctl(['destroy', '--auto-approve']);
    await netnsCleanup(netnsPrefix('tproa.net', join(root, 'tproa.net', 'netns')));
    rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it('applies tproa-full, and plan then reads every entry back as the file has it', async () => {
    const a = await cellctl(['apply', '--driver', 'netns', '--auto-approve']);
    expect(a.exitCode, `${a.stdout}\n${a.stderr}`).toBe(0);
    const p = await cellctl(['plan', '--detailed-exitcode']);
    expect(p.exitCode, String(p.stdout)).toBe(0);
  }, 300_000);

  it('shows what was changed by hand as drift, and apply puts it back', async () => {
    const hand = 'pts removeuser -user amy -group kula:friends -localauth && vos setfields -id home -maxquota 123 -localauth && ' +
      'vos remsite 10.3.0.11 /vicepa root.afs -localauth && vos remove -id home.backup -localauth';
    const ex = await cellctl(['exec', 'service-m1', '--', 'sh', '-c', hand]);
    expect(ex.exitCode, `${ex.stdout}\n${ex.stderr}`).toBe(0);
    const p = await cellctl(['plan', '--detailed-exitcode']);
    const out = String(p.stdout);
    expect(p.exitCode, out).toBe(2);
    expect(out).toContain('# pts-group.kula:friends will be updated in place (found members of kula:friends: bob@athena.tproa.net: will be set to amy, bob@athena.tproa.net)');
    expect(out).toContain('# quota.home will be updated in place (found quota 123 KB on home: will be set to 100000 KB)');
    expect(out).toContain('# ro-site.root.afs@service-m1/vicepa must be replaced (vos listvldb root.afs: no RO site on service-m1 /vicepa)');
    expect(out).toContain('# backup.home must be replaced (vos examine home.backup: no such volume)');
    const a = await cellctl(['apply', '--auto-approve']);
    expect(a.exitCode, `${a.stdout}\n${a.stderr}`).toBe(0);
    const again = await cellctl(['plan', '--detailed-exitcode']);
    expect(again.exitCode, String(again.stdout)).toBe(0);
    const m = await cellctl(['exec', 'service-m1', '--', 'pts', 'membership', 'kula:friends', '-localauth']);
    expect(m.stdout).toMatch(/^\s+amy$/m);
  }, 300_000);
});
