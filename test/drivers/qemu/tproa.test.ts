// The seed's Example 1 (cells/tproa.yaml) as a smoke on --driver qemu: the guest boots the stand-in
// kernel, loads openafs.ko in place of Arla's nnpfs, runs krb5kdc, bosserver with ptserver, vlserver
// and dafs on a hot-plugged /vicepa, and the kernel AFS client; every check passes, through the
// kernel client's own tokens and fs commands; JUnit written; nothing left afterwards.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { CELLS } from '../../paths.js';
import { cellctl, qemuEnv, removeDir, tempDir, title } from './env.js';

const env = await qemuEnv({ openafs: true });
// other processes on the machine may run smokes too: look only at new throwaway dirs holding this cell
const smokeDirs = () => readdirSync(tmpdir()).filter((f) => f.startsWith('cellctl-smoke-')).sort();
const leftBehind = (before: string[]) => smokeDirs().filter((d) => !before.includes(d) && existsSync(join(tmpdir(), d, 'tproa.net')));

describe.skipIf(!env.ok)(title('cellctl smoke cells/tproa.yaml --driver qemu', env), () => {
  let work: string;
  afterAll(() => removeDir(work));

  it('passes every check: kinit, tokens held by the kernel client, fs ACLs, a write allowed to one user and refused to another; torn down', async () => {
    work = tempDir('tproa');
    const before = smokeDirs();
    const junit = join(work, 'out.xml');
    const r = await cellctl(['smoke', join(CELLS, 'tproa.yaml'), '--driver', 'qemu', '--junit', junit], 600_000 + env.buildMs);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    for (const name of [
      'guest service-m1 is running', 'KDC on service-m1 answers an AS-REQ for TPROA.NET', 'kinit kula/admin@TPROA.NET from service-m1 gets a TGT',
      'ubik quorum with one sync site among service-m1', 'AFS client module loaded on service-m1',
      "a fileserver accepts kula's token from service-m1 (authenticated call)",
      'the fileserver refuses an anonymous write in /afs/tproa.net from service-m1',
      'write a file in /afs/tproa.net from service-m1 as kula/admin and read it back from the fileserver',
      "fs listacl /afs/tproa.net from service-m1 as kula/admin shows the fileserver's ACL",
      'fs setacl from service-m1: kula may write in a directory of /afs/tproa.net, kula/admin is refused there',
      "fs listquota /afs/tproa.net from service-m1: root.cell's quota and usage from its fileserver",
      'fs checkservers from service-m1: every fileserver the client knows answers',
    ]) expect(r.stdout.split('\n'), name).toContain(`PASS  ${name}`);
    expect(r.stdout).toMatch(/^Smoke tproa\.net: 19 passed, 0 failed, 0 skipped/m);
    expect(r.stdout).toMatch(/realized_as=OpenAFS 1\.8\.9's openafs\.ko .* in place of arla-0\.43-nnpfs/);
    // the qemu driver runs no Heimdal KDC: MIT's serves the cell's heimdal-0.72, and apply says so first
    expect(r.stdout).toMatch(/^\+ kdc\.service-m1: created \(runs=MIT krb5kdc 1\.20 \(Debian\), stand_in=mit-krb5-1\.20 stands in for heimdal-0\.72, ip=10\.3\.0\.11, pid=\d+\)/m);
    expect(r.stdout).toMatch(/^- host\.kraken: destroyed$/m);
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toContain('guest service-m1 is running');
    expect(xml).not.toMatch(/<skipped|<failure/);
    expect(leftBehind(before)).toEqual([]); // the throwaway state dir is gone
  }, 900_000 + env.buildMs);
});
