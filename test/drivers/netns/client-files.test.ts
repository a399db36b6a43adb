// The netns driver from outside and inside a guest: `cellctl export --format client` gives a machine
// that is not in the cell what it needs (a fresh network namespace on the cell's bridge: MIT kinit
// and vos listvldb -noauth with the exported files), and `cellctl exec` runs the real commands in a
// guest's namespaces, passing stdin, stdout, stderr and the exit status through.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetnsDriver, type NetnsDriver } from '../../../src/drivers/netns/index.js';
import type { Registry } from '../../../src/drivers/netns/layout.js';
import { principalPassword } from '../../../src/state/secrets.js';
import { CELLS, CLI } from '../../paths.js';
import { bringUp, openCell, saveState, type Cell, netnsHeimdalPrerequisites } from './helpers.js';

const pre = netnsHeimdalPrerequisites(); // the tproa cells declare Heimdal

describe.skipIf(!pre.ok)(`netns: client files and exec, for real${pre.ok ? '' : ` (skipped: ${pre.reason})`}`, () => {
  let cell: Cell;
  let driver: NetnsDriver;
  let outside: string | undefined; // the test's own namespace, inside the host's bridge
  const file = join(CELLS, 'tproa.yaml');
  const cli = (args: string[], o: { input?: string } = {}) =>
    execa('node', [CLI, args[0]!, '--state-dir', cell.root, ...args.slice(1)], { reject: false, input: o.input ?? '', env: { ...process.env, CI: '1' } });

  beforeAll(async () => {
    cell = openCell(file);
    driver = createNetnsDriver(cell.ctx);
    await bringUp(cell, driver);
    saveState(cell, driver.snapshot());
  }, 120_000);
  afterAll(async () => {
    if (outside && existsSync(`/run/netns/${outside}`)) await execa('ip', ['netns', 'del', outside], { reject: false });
    if (driver) await driver.destroyAll();
    if (cell) rmSync(cell.root, { recursive: true, force: true });
  }, 60_000);

  it('export --format client writes CellServDB, ThisCell and krb5.conf with the cell\'s real addresses', async () => {
    const out = join(cell.root, 'client');
    const r = await cli(['export', file, '--format', 'client', '--out', out]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(readFileSync(join(out, 'CellServDB'), 'utf8')).toBe('>tproa.net    #Cell name\n10.3.0.11           #service-m1.tproa.net\n');
    expect(readFileSync(join(out, 'ThisCell'), 'utf8')).toBe('tproa.net\n');
    expect(readFileSync(join(out, 'krb5.conf'), 'utf8')).toMatch(/TPROA\.NET = \{\n\t\tkdc = 10\.3\.0\.11\n\t\tadmin_server = 10\.3\.0\.11\n\t\}/);
    expect(statSync(join(out, 'krb5.conf')).mode & 0o777).toBe(0o644);
  });

  it('a fresh namespace on the cell\'s bridge kinits and lists the volumes with the exported files', async () => {
    const reg = driver.snapshot() as Registry;
    const host = reg.hosts.kraken!;
    outside = `cx-test-${randomBytes(3).toString('hex')}`;
    const ip = (args: string[]) => execa('ip', args);
    // Made inside the test's namespace and the host's: nothing in the root namespace.
    await ip(['netns', 'add', outside]);
    await ip(['-n', outside, 'link', 'set', 'lo', 'up']);
    await ip(['-n', outside, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', `vt${outside.slice(-6)}`, 'netns', host.ns]);
    await ip(['-n', host.ns, 'link', 'set', `vt${outside.slice(-6)}`, 'master', host.bridges.bridge3!, 'up']);
    await ip(['-n', outside, 'addr', 'add', '10.3.0.250/8', 'dev', 'eth0']);
    await ip(['-n', outside, 'link', 'set', 'eth0', 'up']);

    const dir = join(cell.root, 'client');
    const env = { KRB5_CONFIG: join(dir, 'krb5.conf'), KRB5CCNAME: `FILE:${join(cell.root, 'outside-cc')}`, PATH: process.env.PATH ?? '/usr/bin:/bin' };
    const kinit = await execa('ip', ['netns', 'exec', outside, 'kinit', 'kula@TPROA.NET'], { env, extendEnv: false, reject: false, input: `${principalPassword(cell.ctx.secrets, 'kula')}\n` });
    expect(kinit.exitCode, String(kinit.stderr)).toBe(0);
    const klist = await execa('klist', [], { env, extendEnv: false });
    expect(klist.stdout).toMatch(/Default principal: kula@TPROA\.NET/);
    expect(klist.stdout).toMatch(/krbtgt\/TPROA\.NET@TPROA\.NET/);

    const vos = await execa('ip', ['netns', 'exec', outside, 'vos', 'listvldb', '-noauth', '-config', dir, '-cell', 'tproa.net'], { env, extendEnv: false, reject: false, timeout: 30_000 });
    expect(vos.exitCode, `${vos.stdout}\n${vos.stderr}`).toBe(0);
    expect(vos.stdout).toMatch(/^root\.afs\s*$/m);
    expect(vos.stdout).toMatch(/^root\.cell\s*$/m);
    expect(vos.stdout).toMatch(/server 10\.3\.0\.11 partition \/vicepa RW Site|server service-m1\S* partition \/vicepa RW Site/);
  }, 60_000);

  it('exec runs the real tools in the guest, with its CellServDB, and passes stdin, stdout and the status', async () => {
    const vos = await cli(['exec', file, 'service-m1', '--', 'vos', 'listvldb', '-noauth']);
    expect(vos.exitCode, `${vos.stdout}\n${vos.stderr}`).toBe(0);
    expect(vos.stdout).toMatch(/^root\.cell\s*$/m);
    const cat = await cli(['exec', file, 'service-m1', '--', 'cat'], { input: 'through stdin\n' });
    expect(cat.stdout).toBe('through stdin');
    const status = await cli(['exec', file, 'service-m1', '--', 'sh', '-c', 'echo oops >&2; exit 3']);
    expect([status.exitCode, status.stderr.trim()]).toEqual([3, 'oops']);
    const missing = await cli(['exec', file, 'service-m1', '--', 'no-such-command-here']);
    expect(missing.exitCode).toBe(127);
    // A scrubbed environment: the cell's krb5.conf, and no password from ours.
    const env = await execa('node', [CLI, 'exec', '--state-dir', cell.root, file, 'service-m1', '--', 'env'], { reject: false, env: { ...process.env, CELLCTL_PW_KULA: 'not-to-be-seen' } });
    expect(env.stdout).toMatch(/^KRB5_CONFIG=\S+krb5\.conf$/m);
    expect(env.stdout).not.toMatch(/CELLCTL_PW_|not-to-be-seen/);
  }, 60_000);

  it('exec --as gets the principal\'s tickets first, and no password shows', async () => {
    const r = await cli(['exec', file, 'service-m1', '--as', 'kula/admin', '--', 'klist']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Default principal: kula\/admin@TPROA\.NET/);
    for (const s of cell.ctx.secrets.all()) expect(`${r.stdout}${r.stderr}`).not.toContain(s);
  }, 60_000);
});
