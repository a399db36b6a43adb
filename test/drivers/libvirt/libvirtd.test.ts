// cellctl's own libvirtds: each inside a network namespace, its sockets in its own directory, its
// configuration private (nothing of the system's /etc/libvirt read or written), two side by side
// with distinct host UUIDs; stopped, nothing is left.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { hostUuidFor, libvirtdPid, libvirtdPrerequisites, startLibvirtd, stopLibvirtd } from '../../../src/drivers/libvirt/libvirtd.js';
import { cleanUp, leftovers, shortTemp } from './env.js';

const pre = libvirtdPrerequisites();
const SKIP = pre.ok ? '' : ` — SKIPPED: ${pre.reason}`;

const virsh = async (uri: string, ...args: string[]) => {
  const r = await execa('virsh', ['-c', uri, ...args], { reject: false, all: true });
  return { code: r.exitCode, out: String(r.all) };
};

describe.skipIf(!pre.ok)(`a libvirtd of cellctl's own${SKIP}`, () => {
  const work = pre.ok ? shortTemp('d') : '';
  const NS = ['clvd-a', 'clvd-b'];
  afterAll(() => cleanUp(work, NS), 60_000);
  const etcBefore = existsSync('/etc/libvirt') ? readdirNames('/etc/libvirt') : [];

  it('runs inside its namespace with a private configuration; a second one beside it has another host UUID', async () => {
    for (const ns of NS) await execa('ip', ['netns', 'add', ns]);
    const [a, b] = await Promise.all(NS.map((ns, i) => startLibvirtd({ dir: join(work, `d${i}`), netns: ns, hostUuid: hostUuidFor(`${work}|${i}`) })));
    for (const [i, d] of [a!, b!].entries()) {
      expect(d.reused).toBe(false);
      expect(d.daemon.uri).toBe(`qemu:///system?socket=${join(work, `d${i}`, 'libvirt-sock')}`);
      expect(readFileSync(`/proc/${d.daemon.pid}/net/dev`, 'utf8')).not.toMatch(/^\s*(eth|ens|enp)/m); // its network is the namespace's
      expect((await execa('ip', ['netns', 'identify', String(d.daemon.pid)])).stdout.trim()).toBe(NS[i]);
      const caps = await virsh(d.daemon.uri, 'capabilities');
      expect(caps.out).toContain(`<uuid>${hostUuidFor(`${work}|${i}`)}</uuid>`);
      expect((await virsh(d.daemon.uri, 'version')).out).toMatch(/Running hypervisor: QEMU/);
      expect(readFileSync(join(work, `d${i}`, 'etc', 'qemu.conf'), 'utf8')).toContain('stdio_handler = "file"');
    }
    expect(existsSync('/etc/libvirt') ? readdirNames('/etc/libvirt') : []).toEqual(etcBefore); // nothing written there
  }, 180_000);

  it('is found running by a second start (warm: no new daemon), and answers through the same socket', async () => {
    const pid = libvirtdPid(join(work, 'd0'));
    const again = await startLibvirtd({ dir: join(work, 'd0'), netns: NS[0]!, hostUuid: hostUuidFor(`${work}|0`) });
    expect(again.reused).toBe(true);
    expect(again.daemon.pid).toBe(pid);
  }, 60_000);

  it('refuses a directory it did not make, and one too long for a socket', async () => {
    const foreign = join(work, 'foreign');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'something'), '');
    await expect(startLibvirtd({ dir: foreign, hostUuid: hostUuidFor('x') })).rejects.toThrow(/was not made by cellctl/);
    await expect(startLibvirtd({ dir: join(work, 'x'.repeat(90)), hostUuid: hostUuidFor('x') })).rejects.toThrow(/too long for its sockets/);
  });

  it('removes the directories it made for the daemon, and only those', async () => {
    const nested = join(work, 'nest', 'a', 'd');
    await startLibvirtd({ dir: nested, netns: NS[1]!, hostUuid: hostUuidFor(nested) });
    expect(await stopLibvirtd(nested, { remove: true })).toBe('stopped');
    expect(existsSync(join(work, 'nest'))).toBe(false);
    expect(existsSync(work)).toBe(true);
  }, 60_000);

  it('stops, removing its directory; with the namespaces gone nothing is left', async () => {
    expect(await leftovers(work, NS)).not.toEqual([]); // the check sees them running
    for (const i of [0, 1]) {
      expect(await stopLibvirtd(join(work, `d${i}`), { remove: true })).toBe('stopped');
      expect(existsSync(join(work, `d${i}`))).toBe(false);
      expect(await stopLibvirtd(join(work, `d${i}`))).toBe('not-running');
    }
    for (const ns of NS) await execa('ip', ['netns', 'del', ns]);
    expect(await leftovers(work, NS)).toEqual([]);
  }, 60_000);
});

/** Names and sizes: a file written there would change one or the other. */
function readdirNames(dir: string): string[] {
  return readdirSync(dir).map((f) => `${f}:${statSync(join(dir, f)).size}`).sort();
}
