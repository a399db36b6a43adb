// One test per finding code, on small cells built in code (positions are covered in compat-cells.test.ts).
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/catalog/load.js';
import { runCompat } from '../../src/compat/index.js';
import type { Finding } from '../../src/compat/types.js';
import type { CellSpec, DiskSpec, GuestSpec, HostSpec, VolumeSpec } from '../../src/config/types.js';

const catalog = loadCatalog();

function disk(raw: string): DiskSpec {
  const [spec = '', vdev = '', mode = 'w'] = raw.split(',');
  const i = spec.indexOf(':');
  return { raw, kind: spec.slice(0, i) as DiskSpec['kind'], target: spec.slice(i + 1), vdev, mode: mode as 'r' | 'w' };
}

function host(name: string, over: Partial<HostSpec> = {}): HostSpec {
  return {
    name, os: 'netbsd-4.0_beta', xen: '3.0.2', memory: 1024, dom0_memory: 256, cpus: 2, cpu_features: ['pae'],
    bridges: ['bridge3', 'bridge4'], devices: ['/dev/wd2d', '/dev/wd3e'], shared_storage: [], ...over,
  };
}

/** One address per guest name, so guests have the address their services need and none is shared. */
const ips = new Map<string, string>();
const ipFor = (name: string): string => ips.get(name) ?? (ips.set(name, `10.3.0.${ips.size + 10}`), ips.get(name)!);

function guest(name: string, over: Partial<GuestSpec> = {}): GuestSpec {
  return {
    name, host: 'kraken', os: 'netbsd-3.1', kernel: { catalog: 'netbsd-3.1-xen3-domu-nodiag' }, type: 'pv',
    memory: 128, maxmem: 128, vcpus: 1, vifs: [{ mac: '00:16:3e:10:11:c4', bridge: 'bridge3', ip: ipFor(name) }],
    disks: [disk(`file:/local/xen/${name}/wd0.img,0x01,w`)], root: '/dev/wd0d',
    kernel_image: `/local/xen/${name}/netbsd-XEN3_DOMU-nodiag.gz`, extra_modules: [], ...over,
  };
}

function volume(name: string, over: Partial<VolumeSpec> = {}): VolumeSpec {
  return { name, server: 'm1', partition: '/vicepa', replicas: [], backup: false, ...over };
}

/** A clean one-guest cell (tproa-like, without Arla) to break one thing at a time. */
function cell(edit: (c: CellSpec) => void = () => {}): CellSpec {
  const c: CellSpec = {
    file: '/tmp/test.yaml', cell: 'test.example', realm: 'TEST.EXAMPLE',
    hosts: { kraken: host('kraken') },
    guests: { m1: guest('m1') },
    kerberos: { software: 'heimdal-0.72', kdcs: ['m1'], principals: ['kula'], keytabs: [], trusts: [] },
    realms: {},
    afs: {
      software: 'openafs-1.4.2', dbservers: ['m1'], fileservers: { m1: ['/vicepa'] }, clients: {},
      volumes: [volume('root.afs'), volume('root.cell')],
      users: {}, groups: [], mounts: [], acls: [],
    },
    posOf: () => undefined,
  };
  edit(c);
  return c;
}

const codes = (fs: Finding[]) => fs.map((f) => f.code);
const only = (fs: Finding[], code: string) => fs.filter((f) => f.code === code);

describe('compat rules', () => {
  it('a clean cell has no findings', () => {
    expect(runCompat(cell(), catalog)).toEqual([]);
  });

  it('module-gpl-only-symbol: OpenAFS 1.4.2 on 2.6.16-xen from Xen 3.0.2', () => {
    const fs = runCompat(cell((c) => {
      c.guests.m1 = guest('m1', { os: 'debian-etch', kernel: { catalog: 'linux-2.6.16-xen-3.0.2' } });
      c.afs!.clients = { m1: 'openafs-1.4.2' };
    }), catalog);
    expect(codes(fs)).toEqual(['module-gpl-only-symbol']);
    expect(fs[0]!.subject).toBe('module.m1.openafs');
    expect(fs[0]!.message).toContain('openafs: Unknown symbol force_evtchn_callback');
    expect(fs[0]!.message).toContain('openafs: Unknown symbol xen_features');
  });

  it('module-unknown-symbol: the 2.6.16-xen OpenAFS module on a Xen 2 kernel without xen_features', () => {
    const fs = runCompat(cell((c) => {
      c.hosts.kraken = host('kraken', { os: 'linux-2.6', xen: '2.0' });
      c.guests.m1 = guest('m1', { os: 'linux-2.6', kernel: { catalog: 'linux-2.6.11.12-xen-2.0' } });
      c.afs!.clients = { m1: 'openafs-1.4.2' };
    }), catalog);
    const f = only(fs, 'module-unknown-symbol');
    expect(f).toHaveLength(1);
    expect(f[0]!.message).toMatch(/openafs: Unknown symbol xen_features/);
  });

  it('module-kernel-options: Arla nnpfs on the stock DEBUG,DIAGNOSTIC kernel', () => {
    const fs = runCompat(cell((c) => {
      c.guests.m1!.kernel = { catalog: 'netbsd-3.1-xen3-domu' };
      c.guests.m1!.extra_modules = ['arla-0.43-nnpfs'];
    }), catalog);
    expect(codes(fs)).toEqual(['module-kernel-options']);
    expect(fs[0]!.message).toMatch(/DEBUG,DIAGNOSTIC/);
  });

  it('module-kernel-kind: a NetBSD module listed for a Linux guest', () => {
    const fs = runCompat(cell((c) => {
      c.guests.m1 = guest('m1', { os: 'debian-etch', kernel: { catalog: 'linux-2.6.16-xen-3.0.2' }, extra_modules: ['arla-0.43-nnpfs'] });
    }), catalog);
    expect(codes(fs)).toEqual(['module-kernel-kind']);
  });

  it('guest-os-unsupported: NetBSD 2.0 is a Xen 2 guest only', () => {
    const fs = runCompat(cell((c) => {
      c.guests.m1 = guest('m1', { os: 'netbsd-2.0', kernel: { catalog: 'netbsd-2.0-xen2-domu' } });
    }), catalog);
    const f = only(fs, 'guest-os-unsupported');
    expect(f).toHaveLength(1);
    expect(f[0]!.subject).toBe('guest.m1');
    expect(f[0]!.fix).toMatch(/Xen 2\.0/);
    // ...and its Xen 2 kernel cannot load on Xen 3 either.
    expect(codes(fs)).toContain('kernel-xen-mismatch');
  });

  it('guest-os-unsupported does not apply to hvm guests', () => {
    const fs = runCompat(cell((c) => {
      c.hosts.kraken!.cpu_features = ['pae', 'vmx'];
      c.guests.m1 = guest('m1', { os: 'plan9', type: 'hvm', kernel: { catalog: 'plan9-xen2-domu' } });
    }), catalog);
    expect(codes(fs)).not.toContain('guest-os-unsupported');
    expect(codes(fs)).toContain('software-unsupported-os'); // Heimdal and OpenAFS don't run on Plan 9
  });

  it('dom0-os-unsupported: NetBSD 3.1 is not a Xen 3 host OS', () => {
    const fs = runCompat(cell((c) => (c.hosts.kraken!.os = 'netbsd-3.1')), catalog);
    expect(codes(fs)).toEqual(['dom0-os-unsupported']);
    expect(fs[0]!.subject).toBe('host.kraken');
  });

  it('hvm-needs-vmx-svm: no vmx/svm in cpu_features', () => {
    const fs = runCompat(cell((c) => (c.guests.m1!.type = 'hvm')), catalog);
    expect(codes(fs)).toEqual(['hvm-needs-vmx-svm']);
    expect(fs[0]!.message).toContain('HVM guest support is unavailable');
  });

  it('hvm-needs-vmx-svm: Xen 2 has no hvm even with vmx', () => {
    const fs = runCompat(cell((c) => {
      c.hosts.kraken = host('kraken', { os: 'netbsd-2.0', xen: '2.0', cpu_features: ['vmx'] });
      c.guests.m1 = guest('m1', { os: 'netbsd-2.0', kernel: { catalog: 'netbsd-2.0-xen2-domu' }, type: 'hvm' });
    }), catalog);
    expect(codes(fs)).toEqual(['hvm-needs-vmx-svm']);
    expect(fs[0]!.message).toMatch(/Xen 2\.0 .*cannot run unmodified/);
  });

  it('hvm with svm on Xen 3 is fine', () => {
    expect(runCompat(cell((c) => {
      c.hosts.kraken!.cpu_features = ['svm'];
      c.guests.m1!.type = 'hvm';
    }), catalog)).toEqual([]);
  });

  it('host-memory-exceeded says the numbers', () => {
    const fs = runCompat(cell((c) => {
      c.guests.m1!.memory = 512;
      c.guests.m2 = guest('m2', { memory: 384, vifs: [{ mac: '00:16:3e:00:00:02', bridge: 'bridge3' }] });
    }), catalog);
    expect(codes(fs)).toEqual(['host-memory-exceeded']);
    expect(fs[0]!.message).toBe(
      'kraken: guests need 896 MiB (m1 512 + m2 384) plus 256 MiB for dom0 = 1152 MiB, but the host has 1024 MiB (128 MiB short)',
    );
  });

  it('host-memory-exceeded uses the dom0 OS default when dom0_memory is not given', () => {
    const fs = runCompat(cell((c) => {
      delete c.hosts.kraken!.dom0_memory;
      c.guests.m1!.memory = 800;
    }), catalog);
    const def = catalog.os.get('netbsd-4.0_beta')!.default_dom0_memory!;
    expect(only(fs, 'host-memory-exceeded')[0]?.message).toContain(`plus ${def} MiB for dom0`);
  });

  it('duplicate-mac, case-insensitive, reported on the second user', () => {
    const fs = runCompat(cell((c) => {
      c.guests.m2 = guest('m2', { vifs: [{ mac: '00:16:3E:10:11:C4', bridge: 'bridge4' }] });
    }), catalog);
    expect(codes(fs)).toEqual(['duplicate-mac']);
    expect(fs[0]!.subject).toBe('guest.m2');
    expect(fs[0]!.message).toContain('m1 vif 0');
  });

  it('mac-not-xen-oui is a warning', () => {
    const fs = runCompat(cell((c) => (c.guests.m1!.vifs[0]!.mac = '52:54:00:12:34:56')), catalog);
    expect(fs.map((f) => [f.code, f.severity])).toEqual([['mac-not-xen-oui', 'warning']]);
  });

  it('bridge-missing', () => {
    const fs = runCompat(cell((c) => (c.guests.m1!.vifs[0]!.bridge = 'bridge5')), catalog);
    expect(codes(fs)).toEqual(['bridge-missing']);
    expect(fs[0]!.message).toContain('Could not find bridge device bridge5');
  });

  it('device-missing only for phy: disks', () => {
    const fs = runCompat(cell((c) => c.guests.m1!.disks.push(disk('phy:/dev/wd9d,0x02,w'), disk('file:/nonexistent.img,0x03,w'))), catalog);
    expect(codes(fs)).toEqual(['device-missing']);
    expect(fs[0]!.message).toContain('/dev/wd9d does not exist');
  });

  it('device-shared: one device writable in two guests, or twice in one guest', () => {
    const fs = runCompat(cell((c) => {
      c.guests.m1!.disks.push(disk('phy:/dev/wd2d,0x02,w'), disk('phy:/dev/wd3e,0x03,r'), disk('phy:/dev/wd3e,0x04,w'));
      c.guests.m2 = guest('m2', { vifs: [{ mac: '00:16:3e:00:00:02', bridge: 'bridge3' }], disks: [disk('phy:/dev/wd2d,0x02,r')] });
    }), catalog);
    expect(only(fs, 'device-shared').map((f) => f.subject).sort()).toEqual(['guest.m1', 'guest.m2']);
    expect(codes(fs)).toEqual(['device-shared', 'device-shared']);
  });

  it('device-shared: read-only sharing is fine, and the same path on two hosts is two devices', () => {
    expect(runCompat(cell((c) => {
      c.hosts.kraken2 = host('kraken2');
      c.guests.m1!.disks.push(disk('phy:/dev/wd2d,0x02,r'), disk('phy:/dev/wd3e,0x03,w'));
      c.guests.m2 = guest('m2', { vifs: [{ mac: '00:16:3e:00:00:02', bridge: 'bridge3' }], disks: [disk('phy:/dev/wd2d,0x02,r')] });
      c.guests.m3 = guest('m3', { host: 'kraken2', vifs: [{ mac: '00:16:3e:00:00:03', bridge: 'bridge3' }], disks: [disk('phy:/dev/wd3e,0x02,w')] });
    }), catalog)).toEqual([]);
  });

  it('kernel-xen-mismatch: a Xen 3.0.3 kernel on a Xen 3.0.2 hypervisor', () => {
    const fs = runCompat(cell((c) => {
      c.guests.m1 = guest('m1', { os: 'debian-etch', kernel: { catalog: 'linux-2.6.16.29-xen-3.0.3' } });
    }), catalog);
    expect(codes(fs)).toEqual(['kernel-xen-mismatch']);
    expect(fs[0]!.fix).toMatch(/linux-2\.6\.16-xen-3\.0\.2/);
    expect(fs[0]!.fix).toMatch(/upgrade kraken to Xen 3\.0\.3/);
  });

  it('kernel-xen-mismatch: an older 3.0.x kernel on a newer hypervisor is fine', () => {
    expect(runCompat(cell((c) => (c.hosts.kraken!.xen = '3.1')), catalog)).toEqual([]);
  });

  it('kernel-xen-mismatch: a Xen 3 kernel on Xen 2 names the major', () => {
    const fs = runCompat(cell((c) => (c.hosts.kraken = host('kraken', { os: 'netbsd-2.0', xen: '2.0' }))), catalog);
    const f = only(fs, 'kernel-xen-mismatch');
    expect(f[0]!.message).toContain('Will only load images built for Xen v2.0');
    expect(codes(fs)).toContain('guest-os-unsupported'); // NetBSD 3.1 is not a Xen 2 guest either
  });

  it('kernel-os-mismatch: a Linux kernel for a NetBSD guest, and a 2.4 kernel for etch', () => {
    const a = runCompat(cell((c) => (c.guests.m1!.kernel = { catalog: 'linux-2.6.16-xen-3.0.2' })), catalog);
    expect(codes(a)).toEqual(['kernel-os-mismatch']);
    expect(a[0]!.message).toMatch(/linux kernel but the guest runs NetBSD 3\.1/);
    expect(a[0]!.fix).toContain('netbsd-3.1-xen3-domu-nodiag');
    const b = runCompat(cell((c) => {
      c.hosts.kraken = host('kraken', { os: 'linux-2.4', xen: '2.0' });
      c.guests.m1 = guest('m1', { os: 'linux-2.6', kernel: { catalog: 'linux-2.4.30-xen-2.0' } });
    }), catalog);
    expect(codes(b)).toEqual(['kernel-os-mismatch']);
  });

  it('software-unsupported-os: Arla client on Solaris, OpenAFS client on NetBSD', () => {
    const fs = runCompat(cell((c) => {
      c.guests.sol = guest('sol', {
        os: 'solaris-10', kernel: { catalog: 'solaris-10-xen-domu' }, vifs: [{ mac: '00:16:3e:00:00:05', bridge: 'bridge3' }],
      });
      c.hosts.kraken!.xen = '3.0.4';
      c.afs!.clients = { sol: 'arla-0.43', m1: 'openafs-1.4.2' };
    }), catalog);
    const f = only(fs, 'software-unsupported-os');
    expect(f.map((x) => x.subject).sort()).toEqual(['afs-client.m1', 'afs-client.sol']);
    expect(f.find((x) => x.subject === 'afs-client.m1')!.fix).toContain('arla-0.43');
    expect(f.find((x) => x.subject === 'afs-client.sol')!.fix).toContain('openafs-1.4.2');
  });

  it('software-role-unsupported: Arla as the AFS server software', () => {
    const fs = runCompat(cell((c) => (c.afs!.software = 'arla-0.43')), catalog);
    expect(only(fs, 'software-role-unsupported').map((f) => f.subject)).toEqual(['afs-db.m1', 'afs-fs.m1']);
  });

  it('arla-panic-reports comes from the catalog known_issues, once per guest', () => {
    const fs = runCompat(cell((c) => {
      c.afs!.clients = { m1: 'arla-0.43' };
    }), catalog);
    expect(fs.map((f) => [f.code, f.severity, f.subject])).toEqual([['arla-panic-reports', 'warning', 'afs-client.m1']]);
    // Data, not code: the same issue on other software shows up under its own code.
    const patched = { ...catalog, software: new Map(catalog.software) };
    const heimdal = patched.software.get('heimdal-0.72')!;
    patched.software.set('heimdal-0.72', {
      ...heimdal,
      known_issues: [{ code: 'kdc-test-issue', severity: 'error', when: 'always', message: 'test issue', source: 'test' }],
    });
    expect(codes(runCompat(cell(), patched))).toEqual(['kdc-test-issue']);
  });

  it('afs-db-quorum: 2 or 4 database servers warn, 1 and 3 do not', () => {
    const withDb = (n: number) =>
      runCompat(cell((c) => {
        for (let i = 2; i <= n; i++) {
          c.guests[`m${i}`] = guest(`m${i}`, { memory: 64, vifs: [{ mac: `00:16:3e:00:00:0${i}`, bridge: 'bridge3', ip: ipFor(`m${i}`) }] });
        }
        c.afs!.dbservers = Array.from({ length: n }, (_, i) => `m${i + 1}`);
      }), catalog);
    expect(withDb(1)).toEqual([]);
    expect(withDb(3)).toEqual([]);
    const two = withDb(2);
    expect(two.map((f) => [f.code, f.severity])).toEqual([['afs-db-quorum', 'warning']]);
    expect(two[0]!.message).toMatch(/quorum/);
    expect(codes(withDb(4))).toEqual(['afs-db-quorum']);
  });

  it('orders errors before warnings', () => {
    const fs = runCompat(cell((c) => {
      c.guests.m1!.vifs[0]!.mac = '52:54:00:12:34:56';
      c.guests.m1!.vifs[0]!.bridge = 'nope';
    }), catalog);
    expect(fs.map((f) => f.severity)).toEqual(['error', 'warning']);
  });
});
