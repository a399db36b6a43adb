// The target: `cellctl smoke cells/awesmoe-fixed.yaml --driver xen --junit out.xml` from
// nothing, as a user runs it: kraken boots as a nested Xen 4.17 with a Debian dom0, shea is a PV
// domU made by the real `xl create`, ballooned (xl mem-set) to what its KDC and AFS servers need,
// openafs.ko loads in it, krb5kdc, bosserver with ptserver, vlserver and dafs run in it through the
// service layer, /vicepa is attached with xl block-attach, afsd runs; every check passes.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { netnsPrefix } from '../../../src/drivers/netns/layout.js';
import { CELLS } from '../../paths.js';
import { cellctl, cleanUp, leftovers, tempDir, title, type Run } from '../qemu/env.js';
import { xenDriverEnv } from './env.js';

const env = await xenDriverEnv();

describe.skipIf(!env.ok)(title('smoke cells/awesmoe-fixed.yaml --driver xen --junit', env), () => {
  let work: string;
  let run: Run;
  let junit: string;

  beforeAll(async () => {
    work = tempDir('xen-smoke');
    run = await cellctl(['smoke', join(CELLS, 'awesmoe-fixed.yaml'), '--driver', 'xen', '--junit', join(work, 'out.xml'), '--state-dir', work], 1_500_000 + env.buildMs);
    junit = existsSync(join(work, 'out.xml')) ? readFileSync(join(work, 'out.xml'), 'utf8') : '';
  }, 1_600_000 + env.buildMs);

  afterAll(async () => {
    await cleanUp(work, work);
  }, 120_000);

  it('passes: shea runs as a domU with the KDC, the AFS servers and the client; every check passes', () => {
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    for (const c of [
      'guest shea is running', 'AFS client module loaded on shea', 'KDC on shea answers an AS-REQ for AWESMOE.ORG',
      'kinit kula@AWESMOE.ORG from shea gets a TGT', 'ubik quorum with one sync site among shea',
      'bos instances on shea run (bos status) and each answers an RPC', 'the ptserver has user kula (pts examine)',
      'a fileserver accepts kula\'s token from shea (authenticated call)',
    ]) expect(run.stdout).toContain(`PASS  ${c}\n`);
    expect(run.stdout).toMatch(/^Smoke awesmoe\.org: 16 passed, 0 failed, 0 skipped\./m);
  });

  it('says what runs in place of NetBSD 4.0 and Xen 3.0.3, and each step of the boot', () => {
    expect(run.stdout).toContain('host kraken: NetBSD 4.0_BETA dom0 under Xen 3.0.3 is stood in for by Xen 4.17');
    expect(run.stdout).toMatch(/host kraken: Xen 4\.17\.\d+ up, \d+ MiB, \d+ MiB free, 2 cpus/);
    expect(run.stdout).toMatch(/guest shea: xl create \/etc\/xen\/cellctl\/shea\.cfg on kraken: domain \d+, 128 MiB/);
    expect(run.stdout).toMatch(/guest shea: xl mem-set shea 256m: asks for 128 MiB; a domU running a KDC or AFS servers here needs at least 256 MiB/);
    expect(run.stdout).toMatch(/\+ kdc\.shea: created \(runs=MIT krb5kdc 1\.20 \(Debian\), stand_in=mit-krb5-1\.20 stands in for mit-krb5-1\.4\.4, ip=10\.4\.0\.38, pid=\d+/);
    expect(run.stdout).toMatch(/\+ afs-db\.shea: created \(ip=10\.4\.0\.38, bosserver_pid=\d+/);
    expect(run.stdout).toContain('+ afs-client.shea: created');
    expect(run.stdout).toMatch(/\+ partition\.shea\.\/vicepa: created \(.*device=\/dev\/xvd[a-p]/);
  });

  it('writes the JUnit file with the lifecycle and the checks', () => {
    expect(junit).toContain('<property name="driver" value="xen"/>');
    expect(junit).toMatch(/<testsuite name="cellctl\.smoke\.awesmoe\.org\.checks"[^>]* tests="16" failures="0" errors="0" skipped="0"/);
    expect(junit).toContain('<testcase name="guest shea is running"');
    // what each check saw, from the real hypervisor and the domU
    // 256 MiB: xl list's memory after the balloon (xl mem-set) for the servers
    expect(junit).toMatch(/PASS {2}guest shea is running: domain \d+ on kraken \(xl list: [-a-z]{6} \([^)]*\), 256 MiB\), kernel \S+, domU uptime [\d.]+ s/);
    expect(junit).toContain('PASS  AFS client module loaded on shea: openafs.ko loaded in the domU&apos;s kernel ');
  });

  it('tears everything down: no QEMU, namespace or mount is left', async () => {
    expect(run.stdout).toMatch(/^Teardown: 13 resources destroyed/m);
    const throwaway = /Throwaway state in (\S+) /.exec(run.stdout)?.[1];
    expect(throwaway).toBeDefined();
    expect(await leftovers(work, netnsPrefix('awesmoe.org', join(throwaway!, 'awesmoe.org', 'xen')))).toEqual([]);
    expect(existsSync(throwaway!)).toBe(false);
  });
});
