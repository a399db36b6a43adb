// The real kernel AFS client in a Linux guest, through its agent: openafs.ko loaded, CellServDB/ThisCell for the cell's db
// servers (their addresses from the cell file), afsd -dynroot -fakestat -memcache mounting /afs. It
// is Debian's own client in its own paths (/etc/openafs, the guest's own root), so kinit,
// aklog, tokens and fs work in the guest as on any OpenAFS client once the servers answer.
import type { AfsClientAttrs, Json } from '../../plan/resources.js';
import type { GuestAgent } from '../vm/agent.js';
import { GUEST_BUSYBOX } from '../vm/guest-agent.js';
import { insmod, loadedModules, openafsKoFor, rmmod } from './modules.js';
import type { GuestSide } from './side.js';

const AFSD_TIMEOUT_MS = 120_000;
const AFSD_ARGS = ['-dynroot', '-fakestat', '-memcache'];

/** Memory cache size: an eighth of the guest's memory, 8-64 MB (16 MB at the 128 MiB minimum, measured to fit). */
export function cacheKb(memoryMiB: number): number {
  return Math.min(65536, Math.max(8192, Math.floor((memoryMiB * 1024) / 8)));
}

/** The cell's CellServDB entry; the comment names the driver that wrote it. */
export function cellServDB(cell: string, servers: { name: string; ip: string }[], driver: string): string {
  return [`>${cell} #cellctl ${driver} cell`, ...servers.map((s) => `${s.ip} #${s.name}`), ''].join('\n');
}

function dbAddresses(side: GuestSide, a: AfsClientAttrs): { name: string; ip: string }[] {
  return a.dbservers.map((d) => {
    const ip = side.addressOf(d);
    if (!ip) throw new Error(`AFS database server ${d} has no address: guest.${d} is not up or has no vif with an ip`);
    return { name: d, ip };
  });
}

export async function afsMounted(agent: GuestAgent): Promise<boolean> {
  const r = await agent.exec('cat', ['/proc/mounts'], { timeoutMs: 10_000 });
  return r.stdout.split('\n').some((l) => { const f = l.split(' '); return f[1] === '/afs' && f[2] === 'afs'; });
}

export async function afsdPids(agent: GuestAgent): Promise<number[]> {
  const r = await agent.exec(GUEST_BUSYBOX, ['pidof', 'afsd'], { timeoutMs: 10_000 });
  return r.stdout.trim().split(/\s+/).filter(Boolean).map(Number);
}

async function fs(agent: GuestAgent, args: string[]): Promise<string> {
  const r = await agent.exec('fs', args, { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`fs ${args.join(' ')}: ${(r.stderr || r.stdout).trim()}`);
  return r.stdout.trim();
}

/** `names` writes the guest's name files (/etc/hosts, resolver) where the driver knows the cell's names. */
export async function createClient(side: GuestSide, agent: GuestAgent, a: AfsClientAttrs, log: (l: string) => void, names?: () => Promise<void>): Promise<Record<string, Json>> {
  side.clients[a.guest] = { guest: a.guest, cell: a.cell };
  side.save();
  const rec = side.guest(a.guest);
  const release = rec.release;
  const out: Record<string, Json> = {};
  if (!(await loadedModules(agent)).has('openafs')) {
    // no module resource loaded it (a client whose catalog software has no module for this kernel kind)
    const ko = await openafsKoFor(release, log);
    const r = await side.inKernel(a.guest, () => insmod(agent, ko.ko, `afs-client.${a.guest}`));
    if (!r.loaded) throw new Error(`openafs.ko refused by the guest's kernel ${release}: ${r.kernelLog.join('; ') || r.insmod}`);
    out.module_loaded_here = { file: ko.ko, kernel_log: r.kernelLog };
    side.clients[a.guest] = { guest: a.guest, cell: a.cell, loadedModule: true };
    side.save();
  }
  const dbs = dbAddresses(side, a);
  const kb = cacheKb(rec.memory);
  await agent.writeFile('/etc/openafs/ThisCell', `${a.cell}\n`);
  await agent.writeFile('/etc/openafs/CellServDB', cellServDB(a.cell, dbs, side.driver));
  await agent.writeFile('/etc/openafs/cacheinfo', `/afs:/var/cache/openafs:${kb}\n`);
  await names?.();
  if (!(await afsMounted(agent))) {
    await agent.exec('mkdir', ['-p', '/afs', '/var/cache/openafs', '/var/log/openafs']);
    const r = await agent.exec('sh', ['-c', 'afsd "$@" >/var/log/openafs/afsd.log 2>&1; echo "afsd exit $?" >>/var/log/openafs/afsd.log', 'sh', ...AFSD_ARGS], { timeoutMs: AFSD_TIMEOUT_MS });
    if (r.code !== 0 || !(await afsMounted(agent))) {
      const tail = (await agent.exec('tail', ['-n', '5', '/var/log/openafs/afsd.log'])).stdout.trim();
      throw new Error(`afsd did not mount /afs on ${a.guest}: ${tail.split('\n').join(' | ')}`);
    }
  } else {
    // running already: tell the cache manager about the current db servers
    await fs(agent, ['newcell', a.cell, ...dbs.map((d) => d.ip)]);
  }
  const wscell = await fs(agent, ['wscell']);
  if (!wscell.includes(`'${a.cell}'`)) throw new Error(`fs wscell on ${a.guest} says ${wscell}, expected cell ${a.cell}`);
  const sysname = await fs(agent, ['sysname']);
  const uptime = Number((await agent.exec('cat', ['/proc/uptime'])).stdout.split(' ')[0]);
  return {
    ...out, mount: '/afs', afsd: `afsd ${AFSD_ARGS.join(' ')} (${kb} KB memory cache)`, afsd_pids: await afsdPids(agent),
    cellservdb: dbs.map((d) => `${d.ip} #${d.name}`), wscell, sysname, ready_at_uptime_s: uptime,
  };
}

/** As Debian's openafs-client unit stops: unmount /afs (the cache manager shuts down with it), then rmmod if it loaded the module. */
export async function deleteClient(side: GuestSide, agent: GuestAgent | undefined, guest: string, log: (l: string) => void): Promise<void> {
  if (agent && (await afsMounted(agent))) {
    const r = await agent.exec('umount', ['/afs'], { timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`umount /afs on ${guest}: ${(r.stderr || r.stdout).trim()}`);
  }
  if (agent && side.clients[guest]?.loadedModule) {
    const why = await rmmod(agent, 'openafs').catch((e: Error) => e.message);
    if (why) log(`afs-client.${guest}: openafs stays loaded until the guest stops (${why})`);
  }
  delete side.clients[guest];
  side.save();
}
