// The seed's Example 1 (cells/tproa.yaml) as a smoke on --driver libvirt, with a libvirtd cellctl runs in
// the host's namespace: the same guest as --driver qemu's (a libvirt domain from the same description),
// the same services placed in it through its agent, the same 19 checks passing; nothing left afterwards.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CELLS } from '../../paths.js';
import { cellctl, title } from '../qemu/env.js';
import { cleanUp, leftovers, libvirtEnv, shortTemp } from './env.js';

const env = await libvirtEnv({ openafs: true });

describe.skipIf(!env.ok)(title("cellctl smoke cells/tproa.yaml --driver libvirt --connect 'qemu:///system?socket=...'", env), () => {
  let work: string | undefined;
  afterAll(() => cleanUp(work, []), 120_000);

  it('passes the checks --driver qemu passes: KDC, ubik, volumes, pts, the kernel client\'s tokens, ACLs, quota; torn down', async () => {
    work = shortTemp('tproa');
    const sockDir = join(work, 'kraken');
    const r = await cellctl(['smoke', join(CELLS, 'tproa.yaml'), '--driver', 'libvirt', '--connect', `qemu:///system?socket=${sockDir}/libvirt-sock`, '--state-dir', join(work, 'state')], 600_000 + env.buildMs);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    for (const name of [
      'guest service-m1 is running', 'KDC on service-m1 answers an AS-REQ for TPROA.NET', 'kinit kula/admin@TPROA.NET from service-m1 gets a TGT',
      'ubik quorum with one sync site among service-m1', 'AFS client module loaded on service-m1',
      "a fileserver accepts kula's token from service-m1 (authenticated call)",
      'write a file in /afs/tproa.net from service-m1 as kula/admin and read it back from the fileserver',
      'fs setacl from service-m1: kula may write in a directory of /afs/tproa.net, kula/admin is refused there',
      'fs checkservers from service-m1: every fileserver the client knows answers',
    ]) expect(r.stdout.split('\n'), name).toContain(`PASS  ${name}`);
    expect(r.stdout).toMatch(/^Smoke tproa\.net: 19 passed, 0 failed, 0 skipped/m);
    expect(r.stdout).toMatch(/^\+ kdc\.service-m1: created \(ip=10\.3\.0\.11, pid=\d+, role=master/m);
    expect(r.stdout).toMatch(/^\+ guest\.service-m1: created \(domain=\S+-service-m1, uri=qemu:\/\/\/system\?socket=/m);
    expect(r.stdout).toMatch(/^- host\.kraken: destroyed$/m);
    expect(existsSync(sockDir)).toBe(false); // the libvirtd cellctl ran is gone with its directory
    expect(await leftovers(work, [])).toEqual([]);
  }, 900_000 + env.buildMs);
});
