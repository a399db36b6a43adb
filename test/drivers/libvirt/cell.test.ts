// A two-guest cell on --driver libvirt through the CLI, as a user runs it: `--connect
// qemu:///system?socket=DIR/libvirt-sock` with DIR not there yet, so cellctl runs that libvirtd itself
// inside the host's network namespace. The guests are libvirt domains made from the same description
// as --driver qemu's; they boot, their agents answer on the domains' channels, they ping each other,
// modules are judged by the guest's kernel, a /vicep disk is hot-plugged through libvirt, the KDC and
// AFS servers run in beta and the kernel AFS client in alpha; destroy leaves no domain, libvirtd,
// namespace or file.
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../../src/catalog/load.js';
import { netnsPrefix } from '../../../src/drivers/netns/layout.js';
import { GuestAgent } from '../../../src/drivers/vm/agent.js';
import { GUEST_BUSYBOX } from '../../../src/drivers/vm/guest-agent.js';
import { resolveHeaders } from '../../../src/kmod/headers.js';
import { buildLenient } from '../../../src/kmod/lenient-build.js';
import type { CellState } from '../../../src/state/types.js';
import { buildEnv, MODULES_DIR } from '../../modules/build.js';
import { cellctl, title, type Run } from '../qemu/env.js';
import { cleanUp, leftovers, libvirtEnv, shortTemp } from './env.js';

const build = buildEnv();
const lv = await libvirtEnv({ openafs: true });
const env = !lv.ok ? lv : build.ok ? lv : { ...lv, ok: false, reason: build.reason };
const CELL = 'lv.test';
const MIN = loadCatalog().standIns.guest_kernel.min_memory;

function cellYaml(ko: string, headers: string): string {
  return `cell: ${CELL}
hosts:
  h1:
    os: netbsd-4.0_beta
    xen: 3.0.3
    memory: 1024
    dom0_memory: 128
    cpus: 2
    bridges: [br0]
    devices: [/dev/sdb]
guests:
  alpha:
    host: h1
    os: debian-etch
    kernel: linux-2.6.16.29-xen-3.0.3
    memory: ${MIN}
    vifs:
      - { mac: "00:16:3e:79:00:01", bridge: br0, ip: 10.79.0.1 }
    disks: ["file:/local/xen/alpha/disk.img,xvda,w"]
  beta:
    host: h1
    os: debian-etch
    kernel:
      symvers: ${headers}/Module.symvers
      config: ${headers}/.config
      image: /boot/vmlinuz-${resolveHeaders({ headersDir: headers }).release}
    memory: ${MIN}
    vifs:
      - { mac: "00:16:3e:79:00:02", bridge: br0, ip: 10.79.0.2 }
    disks: ["phy:/dev/sdb,xvdb,w"]
    extra_modules: [${ko}]
kerberos: { software: mit-krb5-1.4.4, kdcs: [beta], principals: [kula] }
afs:
  software: openafs-1.4.2
  dbservers: [beta]
  fileservers: { beta: [/vicepa] }
  clients: { alpha: openafs-1.4.2 }
  volumes:
    - { name: root.afs, server: beta, partition: /vicepa }
    - { name: root.cell, server: beta, partition: /vicepa }
`;
}

describe.skipIf(!env.ok)(title('--driver libvirt on a libvirtd cellctl runs in the host\'s namespace: a two-guest cell through the CLI', env), () => {
  let work: string;
  let stateDir: string;
  let file: string;
  let uri: string;
  let applied: Run;
  let destroyed: Run | undefined;
  const prefix = () => netnsPrefix(CELL, join(stateDir, CELL, 'libvirt'));
  const state = (): CellState => JSON.parse(readFileSync(join(stateDir, CELL, 'state.json'), 'utf8')) as CellState;
  const out = (address: string) => state().resources[address]!.outputs as Record<string, any>;
  const virsh = async (...args: string[]) => String((await execa('virsh', ['-c', uri, ...args])).stdout);
  // a channel socket serves one client at a time: each test closes its connections before the CLI runs
  const open: GuestAgent[] = [];
  const agent = (g: string): GuestAgent => {
    const a = new GuestAgent(out(`guest.${g}`).agent_socket, `guest ${g}`);
    open.push(a);
    return a;
  };
  afterEach(() => {
    for (const a of open.splice(0)) a.close();
  });

  beforeAll(async () => {
    work = shortTemp('cell');
    stateDir = join(work, 'state');
    uri = `qemu:///system?socket=${join(work, 'lv', 'libvirt-sock')}`;
    cpSync(join(MODULES_DIR, 'gpl_xen'), join(work, 'gpl_xen'), { recursive: true });
    const headers = build.ok ? build.headers : '';
    const b = await buildLenient(join(work, 'gpl_xen'), 'gpl_xen', resolveHeaders({ headersDir: headers }));
    if (!b.ko) throw new Error(b.output);
    file = join(work, 'two.yaml');
    writeFileSync(file, cellYaml(b.ko, headers));
    applied = await cellctl(['apply', file, '--driver', 'libvirt', '--connect', uri, '--state-dir', stateDir], 600_000 + lv.buildMs);
  }, 900_000 + lv.buildMs);

  afterAll(async () => {
    if (!destroyed && stateDir && existsSync(join(stateDir, CELL))) await cellctl(['destroy', file, '--state-dir', stateDir, '--auto-approve']);
    await cleanUp(work, work ? [prefix()] : []);
  }, 120_000);

  it('applies: a libvirtd in the host\'s namespace, two domains, modules, the partition, the KDC and AFS servers, the AFS client; everything managed', () => {
    expect(applied.code, `${applied.stdout}\n${applied.stderr}`).toBe(0);
    expect(applied.stdout).toMatch(new RegExp(`host h1: libvirtd pid \\d+ in namespace ${prefix()}-h-h1\\w*, ready in [\\d.]+ s`));
    expect(applied.stdout).toContain("Note: module.alpha.openafs: openafs-1.4.2-linux is realized by OpenAFS 1.8.9's openafs.ko");
    expect(applied.stdout).toMatch(/Apply complete! Resources: 15 added/);
    expect(applied.stdout).not.toMatch(/Not managed by libvirt/);
    expect(applied.stdout).toMatch(/^\+ kdc\.beta: created \(runs=MIT krb5kdc 1\.20 \(Debian\), (stand_in=[^,]+, )?ip=10\.79\.0\.2, pid=\d+/m);
    expect(applied.stdout).toMatch(/^\+ afs-fs\.beta: created \(ip=10\.79\.0\.2, bosserver_pid=\d+/m);
    const h = out('host.h1');
    expect(h.uri).toBe(uri);
    expect(h.hypervisor).toMatch(/^QEMU /);
  });

  it('runs each guest as a libvirt domain made from the guest description: direct kernel boot, the shared root image (no 9p), console file, agent channel', async () => {
    const names = (await virsh('list', '--name')).split('\n').filter(Boolean).sort();
    expect(names).toEqual([`${prefix()}-alpha`, `${prefix()}-beta`]);
    const xml = await virsh('dumpxml', `${prefix()}-alpha`);
    expect(xml).toMatch(/<domain type='(qemu|kvm)' id='\d+'>/);
    expect(xml).toMatch(/<kernel>\S+vmlinux<\/kernel>/);
    expect(xml).toContain('cellctl.hostname=alpha cellctl.net=00:16:3e:79:00:01,10.79.0.1/8');
    expect(xml).not.toContain('<filesystem'); // nothing over 9p: the guest can migrate
    expect(xml).toMatch(/<source file='[^']*\/libvirt-root\/[0-9a-f]{16}\/root\.img'[^>]*\/>(?:(?!<\/disk>)[\s\S])*<target dev='vdb' bus='virtio'\/>\s*<readonly\/>/);
    expect(xml).toContain('cellctl.rootdisk=vdb');
    expect(xml).toContain(`<source path='${out('guest.alpha').console}' append='on'/>`);
    expect(xml).toContain(`<source mode='bind' path='${out('guest.alpha').agent_socket}'/>`);
    expect(xml).toMatch(/<interface type='bridge'>\s*<mac address='00:16:3e:79:00:01'\/>\s*<source bridge='br0'\/>\s*<target dev='vm[0-9a-f]{8}0'\/>/);
    // the tap is libvirt's, on the host namespace's bridge
    const links = String((await execa('ip', ['-n', out('host.h1').netns, '-o', 'link', 'show', 'master', 'br0'])).stdout);
    expect(links).toContain(out('guest.alpha').taps[0]);
  });

  it('the guests answer through their agents and reach each other over the host\'s bridge', async () => {
    const a = agent('alpha');
    const b = agent('beta');
    expect((await a.exec('cat', ['/proc/cmdline'])).stdout).toContain('cellctl.hostname=alpha');
    const ab = await a.exec(GUEST_BUSYBOX, ['ping', '-c', '2', '-W', '5', '10.79.0.2'], { timeoutMs: 30_000 });
    const ba = await b.exec(GUEST_BUSYBOX, ['ping', '-c', '2', '-W', '5', '10.79.0.1'], { timeoutMs: 30_000 });
    expect(ab.code, ab.stdout + ab.stderr).toBe(0);
    expect(ba.code, ba.stdout + ba.stderr).toBe(0);
    expect(out('guest.alpha').boot_ms).toBeGreaterThan(0);
  });

  it('judges modules with the guest\'s real kernel and records its lines', () => {
    const extra = out('module.beta.gpl_xen');
    expect(extra.loaded).toBe(true);
    expect(extra.insmod.kernel_log.join('\n')).toContain('gpl_xen: feature word');
    const afs = out('module.alpha.openafs');
    expect(afs.insmod.kernel_log.join('\n')).toMatch(/openafs: module license 'http:\/\/www\.openafs\.org\/dl\/license10\.html' taints kernel\./);
  });

  it('hot-plugs /vicepa through libvirt (virsh attach-device) and mounts it as ext4 in beta', async () => {
    const b = agent('beta');
    const p = out('partition.beta./vicepa');
    expect((await b.exec('cat', ['/proc/mounts'])).stdout).toMatch(new RegExp(`^${p.device} /vicepa ext4 rw`, 'm'));
    expect(await virsh('domblklist', `${prefix()}-beta`)).toContain(p.image);
    expect((await b.exec('test', ['-e', '/vicepa/AlwaysAttach'])).code).toBe(0);
  });

  it('runs the real OpenAFS kernel client in alpha, talking to beta\'s servers', async () => {
    const a = agent('alpha');
    expect((await a.exec('cat', ['/proc/mounts'])).stdout).toMatch(/^AFS \/afs afs /m);
    expect((await a.exec('fs', ['wscell'])).stdout).toContain(`This workstation belongs to cell '${CELL}'`);
    const cs = await a.exec('fs', ['checkservers'], { timeoutMs: 60_000 }); // beta's fileserver, across the host's bridge
    expect(cs.stdout + cs.stderr).toContain('All servers are running.');
  });

  it('console, status and refresh read the domains back; drift made behind cellctl\'s back shows', async () => {
    const c = await cellctl(['console', file, 'alpha', '--state-dir', stateDir]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/=== cellctl: starting guest alpha .*\(libvirt domain /);
    expect(c.stdout).toMatch(/Linux version \d+\.\d+\.\d+/);
    const s = await cellctl(['status', file, '--state-dir', stateDir, '--json']);
    expect(s.code, s.stderr).toBe(0);
    const st = JSON.parse(s.stdout) as { domains: { state: string }[]; services: { address: string; state: string }[]; drift: unknown[] };
    for (const d of st.domains) expect(d.state).toMatch(/^running \(qemu pid \d+, (tcg|kvm)\)$/);
    for (const x of ['module.beta.gpl_xen', 'afs-client.alpha', 'partition.beta./vicepa', 'kdc.beta', 'afs-db.beta', 'afs-fs.beta']) expect(st.services.find((y) => y.address === x)?.state, x).toBe('up');
    expect(st.drift).toEqual([]);
    const b = agent('beta');
    expect((await b.exec('rmmod', ['gpl_xen'])).code).toBe(0);
    b.close();
    const plan = await cellctl(['plan', file, '--state-dir', stateDir]);
    expect(plan.stdout).toMatch(/module\.beta\.gpl_xen.*gpl_xen is not in \/proc\/modules/s);
  });

  it('destroy leaves no domain, libvirtd, namespace or file', async () => {
    expect(await leftovers(work, [prefix()])).not.toEqual([]); // the check sees the running cell
    destroyed = await cellctl(['destroy', file, '--state-dir', stateDir, '--auto-approve']);
    expect(destroyed.code, destroyed.stderr).toBe(0);
    expect(destroyed.stdout).toMatch(/Destroy complete! Resources: 0 added, 0 changed, 15 destroyed\./);
    expect(await leftovers(work, [prefix()])).toEqual([]);
    expect(existsSync(join(stateDir, CELL))).toBe(false);
    expect(existsSync(join(work, 'lv'))).toBe(false); // the libvirtd's directory: config, sockets, its domains' definitions
  });
});
