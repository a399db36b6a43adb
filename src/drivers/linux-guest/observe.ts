// What every driver with real Linux guests reads back the same way, once it knows a guest answers:
// its modules, partitions and AFS client from the guest's facts, the KDC and AFS servers the service
// layer placed in it, the refresh of a service, and the checks the service layer runs.
import type { AppliedResource, Check, CheckResult, Observed, ServiceStatus } from '../driver.js';
import { addr } from '../../plan/addrs.js';
import { kernelClientCheck } from '../services/afs-client.js';
import { kernelAccessCheck } from '../services/afs-kernel-checks.js';
import { keytabKinit } from '../services/keytabs.js';
import { bosPid } from '../services/afs-servers.js';
import { serviceCheck } from '../services/checks.js';
import { instancePids, readService } from '../services/health.js';
import { kdcName, kdcPid } from '../services/kerberos.js';
import type { Services } from '../services/placement.js';
import { afsUp, type GuestFacts } from './facts.js';
import type { ClientRec, ModuleRec } from './side.js';

/** Entries of the realm's and the cell's databases: refresh reads the servers that hold them, not each entry. */
export const ENTRIES: Partial<Record<AppliedResource['type'], string>> = {
  principal: 'an entry of the KDC database (refresh reads the KDC, not each entry)',
  'service-key': 'an entry of the KDC database and the servers\' KeyFileExt (refresh reads the KDC and the servers)',
  volume: 'a volume of the cell (refresh reads its fileserver, not each volume)',
  'pts-user': 'an entry of the protection database (refresh reads the db servers, not each entry)',
  'pts-group': 'an entry of the protection database (refresh reads the db servers, not each entry)',
  quota: "a field of its volume's header (refresh reads its fileserver, not each volume)",
  'ro-site': 'a site in the VLDB (refresh reads the db servers, not each entry)',
  release: "the RO clones of a volume (refresh reads their fileservers, not each clone)",
  backup: "a clone beside its volume (refresh reads its fileserver, not each volume)",
  mount: "an entry in a volume's directory (refresh reads its fileserver, not each entry)",
  acl: "a field of a volume's directory (refresh reads its fileserver, not each directory)",
  keytab: 'a key of the KDC database in a file of its guest (refresh reads the KDC, not each key)',
};

/** The records status reads on a guest: modules, AFS clients, partitions (each driver says where a partition comes from). */
export interface GuestSideRecords<Part extends { guest: string; path: string }> {
  modules: Record<string, ModuleRec>;
  clients: Record<string, ClientRec>;
  partitions: Record<string, Part>;
}

/** Status of a guest's modules, AFS client and partitions; `f` undefined: the guest does not answer. */
export function guestSideStatus<Part extends { guest: string; path: string }>(w: GuestSideRecords<Part>, name: string, f: GuestFacts | undefined, partitionDetail: (p: Part, dev: string, fs: string) => string): ServiceStatus[] {
  const out: ServiceStatus[] = [];
  const silent = `unknown: ${name} does not answer`;
  for (const [res, m] of Object.entries(w.modules).filter(([, m]) => m.guest === name)) {
    const up = !!m.loadedAs && !!f?.modules.has(m.loadedAs);
    const what = !m.loadedAs ? `nothing stays loaded for ${m.module}` : !f ? `${m.loadedAs}: ${silent}` : `${m.loadedAs} ${up ? 'loaded' : 'not loaded'}`;
    out.push({ address: `module.${res}`, guest: name, state: up ? 'up' : 'down', detail: `${what}${m.loadedAs && m.loadedAs !== m.name ? ` (for ${m.module})` : ''}` });
  }
  if (w.clients[name]) {
    const mounted = f?.mounts.some((m) => m.path === '/afs' && m.fs === 'afs');
    const detail = !f ? silent : `afsd ${f.afsd.length ? `pid ${f.afsd.join(' ')}` : 'not running'}, /afs ${mounted ? 'mounted' : 'not mounted'}`;
    out.push({ address: `afs-client.${name}`, guest: name, state: f && afsUp(f) ? 'up' : 'down', ...(f?.afsd[0] ? { pid: f.afsd[0] } : {}), detail });
  }
  for (const [res, p] of Object.entries(w.partitions).filter(([, p]) => p.guest === name)) {
    const m = f?.mounts.find((x) => x.path === p.path);
    out.push({ address: `partition.${res}`, guest: name, state: m ? 'up' : 'down', detail: !f ? silent : m ? partitionDetail(p, m.dev, m.fs) : `${p.path} not mounted` });
  }
  return out;
}

/** The KDC and AFS servers of a guest that answers, with their pids as the guest sees them. */
export async function serviceStatus(x: Services, guest: string): Promise<ServiceStatus[]> {
  const out: ServiceStatus[] = [];
  const svc = (address: string, pid: number | undefined, detail: string) =>
    out.push({ address, guest, state: pid ? 'up' : 'down', ...(pid ? { pid } : {}), detail: `${detail} (pids inside the guest)` });
  if (!x.has(guest)) return out;
  const p = x.place(guest);
  const kdc = x.reg.kdcs[guest];
  if (kdc) svc(addr.kdc(guest), await kdcPid(x, p), `${kdcName(x, guest)} ${kdc.role}`);
  const db = x.reg.afsDb.includes(guest);
  const fs = !!x.reg.afsFs[guest];
  if (db || fs) {
    const bos = await bosPid(x, p);
    if (db) svc(addr.afsDb(guest), bos, `bosserver ${bos ?? 'down'}; ${await instancePids(p, ['ptserver', 'vlserver'])}`);
    if (fs) svc(addr.afsFs(guest), bos, `bosserver ${bos ?? 'down'}; ${await instancePids(p, ['dafs'])}`);
  }
  return out;
}

/** A KDC's or AFS server's daemons read back (refresh): present, or what to do about them. */
export async function observeService(x: Services | undefined, prior: AppliedResource): Promise<{ present: boolean; detail: string; observed: Observed }> {
  const o = (x && (await readService(x, prior))) || { state: 'present' as const };
  return { present: o.state === 'present', detail: o.state === 'present' ? 'its daemons run and answer' : o.reason ?? o.state, observed: o };
}

/** The checks of the kernel AFS client in a guest (they need the cell's servers). */
export const CLIENT_CHECKS: ReadonlySet<string> = new Set([
  'afs-resolves', 'client-anon-refused', 'client-tokens', 'cross-realm-token', 'client-file-rw', 'client-acl-list', 'client-acl-write',
  'client-quota', 'client-servers', 'acl-write', 'quota-exceeded', 'ro-release', 'mount-point',
]);

/**
 * A client or service check on a guest the driver found running: run by the service layer, or
 * skipped saying why (`noServers`: the driver places no AFS servers, or the cell has none).
 */
export async function guestServiceCheck(x: Services | undefined, c: Check, pw: (principal: string) => string, hasClient: boolean, noServers: string): Promise<CheckResult> {
  if (CLIENT_CHECKS.has(c.kind)) {
    if (!hasClient) return { status: 'fail', message: `no AFS client on ${c.guest ?? ''}` };
    if (!x || x.reg.afsDb.length === 0) return { status: 'skip', message: noServers };
    return (await (kernelAccessCheck(x, c, pw) ?? kernelClientCheck(x, c, pw)))!;
  }
  if (c.kind === 'keytab-kinit') return x ? keytabKinit(x, x.place(String(c.guest)), String(c.params.principal)) : { status: 'skip', message: noServers };
  return (x && (await serviceCheck(x, c, pw))) || { status: 'skip', message: x ? `check kind ${c.kind} is not run by this driver` : noServers };
}

/** A module, partition or AFS client read back from the facts of the guest it lives in (refresh); undefined for other types. */
export function observeGuestSide(w: { modules: Record<string, ModuleRec> }, prior: AppliedResource, f: GuestFacts, driver: string): { present: boolean; detail: string } | undefined {
  const at = (present: boolean, detail: string) => ({ present, detail });
  switch (prior.type) {
    case 'module': {
      const m = w.modules[prior.name];
      if (!m) return at(false, `not recorded by the ${driver} driver`);
      if (!m.loadedAs) return at(true, `nothing stays loaded for ${m.module}`);
      return at(f.modules.has(m.loadedAs), `${m.loadedAs} ${f.modules.has(m.loadedAs) ? 'is' : 'is not'} in /proc/modules`);
    }
    case 'partition': {
      const path = String(prior.attrs.path);
      const m = f.mounts.find((x) => x.path === path);
      return at(!!m, m ? `${m.dev} (${m.fs}) mounted on ${path}` : `${path} is not mounted`);
    }
    case 'afs-client':
      return at(afsUp(f), `afsd ${f.afsd.length ? `pid ${f.afsd.join(' ')}` : 'not running'}, /afs ${f.mounts.some((m) => m.path === '/afs') ? 'mounted' : 'not mounted'}`);
    default:
      return undefined;
  }
}
