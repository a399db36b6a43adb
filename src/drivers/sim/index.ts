// The simulated Xen hypervisor: the default driver. The whole world is one plain-JSON object
// (ctx.data in, snapshot() out); every call works on it synchronously, so the same sequence of
// calls gives the same world, console and logs, whatever the executor's concurrency.
import type { Driver, DriverContext, DriverStatus, DomainStatus, AppliedResource, Check, CheckResult } from '../driver.js';
import type { Attrs, Resource } from '../../plan/resources.js';
import { addr, parseAddress } from '../../plan/addrs.js';
import { Masker } from '../../render/mask.js';
import { capabilitiesOf } from '../capabilities.js';
import {
  createAfsDb, createAfsFs, createPartition, createVolume, deleteAfsDb, deleteAfsFs, deletePartition,
  deleteVolume, describeQuorum, cellDbservers, fsUp, dbUp, moveVolume, quorum, updateAfsDb, updateAfsFs,
} from './afs.js';
import { aklog, clientUp, createClient, deleteClient, describeToken, updateClient } from './afsclient.js';
import { afsList, afsRead, afsWrite } from './files.js';
import { createPtsGroup, createPtsUser, deletePtsGroup, deletePtsUser, updatePtsGroup, updatePtsUser } from './pts.js';
import { createCrossRealm, createKeytab, deleteCrossRealm, deleteKeytab, keytabKeys, updateKeytab } from './realms.js';
import {
  addSite, backupResource, makeMount, releaseResource, removeBackup, removeMount, removeSite, resetAcl, resetQuota, setAcl, setQuota,
} from './volumes.js';
import { runCheck } from './checks.js';
import { readsStdin, runShell } from './shell/index.js';
import { readSim } from './refresh.js';
import { createGuest, destroyGuest, updateGuest, vifNames, xm, type XmOp } from './domains.js';
import { createHost, deleteHost, updateHost, usage } from './hosts.js';
import { domainsOn, indexOf } from './indexes.js';
import {
  addPrincipal, createKdc, createServiceKey, deleteKdc, deletePrincipal, deleteServiceKey, kdcUp, qualify, restartKdc, updateKdc,
  type KrbEnv,
} from './kerberos.js';
import { migrate } from './migrate.js';
import { loadModule, unloadModule } from './modules.js';
import { domainOf, isUp, loadWorld, own, requireUp, spawn, type World } from './world.js';

/** All of a stream, up to 16 MiB (what a file written through the sim's shell may be). */
async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += b.length;
    if (size > 16 * 1024 * 1024) throw new Error('cellctl exec: more than 16 MiB on stdin');
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export type { World } from './world.js';
export type { XmOp } from './domains.js';

/** The sim driver, plus the knobs a test (or `cellctl`) can turn that real hardware would offer. */
export interface SimDriver extends Driver {
  readonly world: World;
  /** xm pause/unpause/shutdown/reboot, start a shut-down domain, or inject a crash. */
  xm(guest: string, op: XmOp): Promise<DomainStatus>;
  /** Stop or start one service (bos shutdown/startup, stopping krb5kdc or afsd): kdc.x, afs-db.x, afs-fs.x, afs-client.x. */
  service(address: string, action: 'stop' | 'start'): Promise<void>;
  /** kinit + aklog on a client guest; returns what `tokens` prints. */
  aklog(guest: string, principal: string): Promise<string>;
  afsWrite(guest: string, path: string, data: string, principal: string | null): Promise<void>;
  afsRead(guest: string, path: string, principal: string | null): Promise<string>;
  afsList(guest: string, path: string, principal: string | null): Promise<string[]>;
}

export function createSimDriver(ctx: DriverContext): SimDriver {
  const w = loadWorld(ctx.world);
  indexOf(w); // the derived indexes (memory, devices, domains per host), counted once from the saved world
  const { catalog } = ctx;
  const env: KrbEnv = { catalog, secrets: ctx.secrets, realm: ctx.realm };

  // Last line of defence: a message that somehow carries a secret is masked before anyone prints it.
  const scrub = (e: unknown): Error => new Masker(ctx.secrets.all()).error(e);
  const guarded = <T>(fn: () => T): Promise<T> => {
    try {
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(scrub(e));
    }
  };

  const create = (r: Resource): Attrs => {
    switch (r.type) {
      case 'host': return createHost(w, catalog, r.name, r.attrs);
      case 'guest': {
        const out = createGuest(w, catalog, ctx.stateDir, r.name, r.attrs);
        ctx.log(`Started domain ${r.name} (id ${out.domid}) on ${out.host}`);
        return out;
      }
      case 'module': return loadModule(w, catalog, r.attrs);
      case 'kdc': return createKdc(w, env, r.attrs);
      case 'principal': return addPrincipal(w, env, r.attrs);
      case 'service-key': return createServiceKey(w, env, r.attrs);
      case 'afs-db': return createAfsDb(w, r.attrs);
      case 'afs-fs': return createAfsFs(w, r.attrs);
      case 'partition': return createPartition(w, r.attrs);
      case 'volume': return createVolume(w, r.attrs);
      case 'pts-user': return createPtsUser(w, r.attrs);
      case 'afs-client': return createClient(w, r.attrs);
      case 'pts-group': return createPtsGroup(w, r.attrs);
      case 'quota': return setQuota(w, r.attrs);
      case 'mount': return makeMount(w, r.attrs);
      case 'acl': return setAcl(w, r.attrs);
      case 'ro-site': return addSite(w, r.attrs);
      case 'release': return releaseResource(w, r.attrs);
      case 'backup': return backupResource(w, r.attrs);
      case 'keytab': return createKeytab(w, env, r.attrs);
      case 'cross-realm': return createCrossRealm(w, env, r.attrs);
    }
  };

  /** What an update does first: bring back what refresh found stopped (a paused or shut-down domain, a stopped service). */
  const repair = (r: Resource): void => {
    if (r.type === 'guest') {
      const d = domainOf(w, r.name);
      if (d?.state === 'paused') xmOp(r.name, 'unpause');
      else if (d?.state === 'shutdown') xmOp(r.name, 'start');
      return;
    }
    const svc = r.type === 'kdc' ? own(w.kdcs, r.attrs.guest) : r.type === 'afs-db' ? own(w.afsdbs, r.attrs.guest)
      : r.type === 'afs-fs' ? own(w.fileservers, r.attrs.guest) : r.type === 'afs-client' ? own(w.clients, r.attrs.guest) : undefined;
    if (svc && !svc.running) serviceOp(r.address, 'start');
  };

  const update = (prior: AppliedResource, r: Resource): Attrs => {
    repair(r);
    switch (r.type) {
      case 'host': return updateHost(w, catalog, r.name, r.attrs);
      case 'guest':
        if (prior.type !== 'guest') break;
        return updateGuest(w, r.name, prior.attrs, r.attrs);
      case 'kdc': return updateKdc(w, r.attrs);
      case 'afs-db': return updateAfsDb(w, r.attrs);
      case 'afs-fs': return updateAfsFs(w, r.attrs);
      case 'volume': return moveVolume(w, r.attrs);
      case 'pts-user': return updatePtsUser(w, r.attrs);
      case 'afs-client': return updateClient(w, r.attrs);
      case 'pts-group': return updatePtsGroup(w, r.attrs);
      case 'quota': return setQuota(w, r.attrs);
      case 'mount':
        if (prior.type === 'mount') removeMount(w, prior.attrs); // fs rmmount, then fs mkmount
        return makeMount(w, r.attrs);
      case 'acl': return setAcl(w, r.attrs);
      case 'release': return releaseResource(w, r.attrs);
      case 'backup': return backupResource(w, r.attrs);
      case 'keytab': return updateKeytab(w, env, r.attrs);
    }
    throw new Error(`${r.address}: the simulator cannot change a ${r.type} in place; the plan must replace it`);
  };

  const remove = (prior: AppliedResource): void => {
    switch (prior.type) {
      case 'host': return deleteHost(w, prior.name);
      case 'guest': return destroyGuest(w, ctx.stateDir, prior.name);
      case 'module': return unloadModule(w, prior.attrs);
      case 'kdc': return deleteKdc(w, prior.attrs.guest);
      case 'principal': return deletePrincipal(w, prior.attrs.kdc, qualify(prior.attrs.principal, prior.attrs.realm));
      case 'service-key': return deleteServiceKey(w, prior.attrs);
      case 'afs-db': return deleteAfsDb(w, prior.attrs.guest);
      case 'afs-fs': return deleteAfsFs(w, prior.attrs.guest);
      case 'partition': return deletePartition(w, prior.attrs);
      case 'volume': return deleteVolume(w, prior.attrs);
      case 'pts-user': return deletePtsUser(w, prior.attrs);
      case 'afs-client': return deleteClient(w, prior.attrs.guest);
      case 'pts-group': return deletePtsGroup(w, prior.attrs);
      case 'quota': return resetQuota(w, prior.attrs);
      case 'mount': return removeMount(w, prior.attrs);
      case 'acl': return resetAcl(w, prior.attrs);
      case 'ro-site': return removeSite(w, prior.attrs);
      case 'release': return; // the RO clones go with their sites (ro-site)
      case 'backup': return removeBackup(w, prior.attrs);
      case 'keytab': return deleteKeytab(w, prior.attrs);
      case 'cross-realm': return deleteCrossRealm(w, prior.attrs);
    }
  };

  /** After a (re)boot, rc starts the guest's modules and services again (new pids, no tokens). */
  const restartOnBoot = (guest: string, modules: { id: string; name: string }[]): void => {
    for (const m of modules) {
      try {
        loadModule(w, catalog, { guest, module: m.id, name: m.name });
      } catch {
        // logged in the guest and kept in modload_errors; the client below then stays down
      }
    }
    const d = w.domains[guest]!;
    restartKdc(w, env, guest);
    const db = own(w.afsdbs, guest);
    if (db) db.pids = { ptserver: spawn(d), vlserver: spawn(d) };
    const fs = own(w.fileservers, guest);
    if (fs) { fs.pid = spawn(d); fs.volserver_pid = spawn(d); }
    const c = own(w.clients, guest);
    if (c) { c.pid = spawn(d); c.tokens = {}; }
  };

  const domainStatus = (name: string): DomainStatus => {
    const d = w.domains[name]!;
    return { id: d.domid, name: d.name, host: d.host, state: d.state, memory: d.memory, vifs: vifNames(d) };
  };

  const status = (): DriverStatus => {
    const hosts = Object.values(w.hosts).map((h) => {
      const u = usage(w, h.name);
      return { name: h.name, memory: h.memory, used: u.used, free: u.free };
    });
    const domains: DomainStatus[] = [];
    for (const h of Object.values(w.hosts)) {
      domains.push({ id: 0, name: 'Domain-0', host: h.name, state: 'running', memory: h.dom0_memory, vifs: [] });
      const mine = domainsOn(w, h.name)
        .sort((a, b) => (a.domid ?? Infinity) - (b.domid ?? Infinity) || (a.name < b.name ? -1 : 1));
      for (const d of mine) domains.push(domainStatus(d.name));
    }
    const services: DriverStatus['services'] = [];
    const up = (b: boolean) => (b ? 'up' : 'down') as 'up' | 'down';
    for (const k of Object.values(w.kdcs)) {
      services.push({ address: addr.kdc(k.guest), guest: k.guest, state: up(kdcUp(w, k)), pid: k.pid, detail: `${k.software} ${k.role} KDC for ${k.realm}, ${Object.keys(k.db).length} principals` });
    }
    const q = quorum(w, cellDbservers(w));
    for (const db of Object.values(w.afsdbs)) {
      services.push({ address: addr.afsDb(db.guest), guest: db.guest, state: up(dbUp(w, db.guest)), pid: db.pids.ptserver, detail: `ptserver+vlserver; ubik: ${describeQuorum(q)}` });
    }
    for (const fs of Object.values(w.fileservers)) {
      const vols = Object.values(fs.attached).reduce((n, p) => n + Object.keys(p).length, 0);
      services.push({ address: addr.afsFs(fs.guest), guest: fs.guest, state: up(fsUp(w, fs.guest)), pid: fs.pid, detail: `fileserver: ${Object.keys(fs.attached).join(', ') || 'no partitions'}, ${vols} volumes` });
    }
    for (const c of Object.values(w.clients)) {
      services.push({ address: addr.afsClient(c.guest), guest: c.guest, state: up(clientUp(w, c.guest)), pid: c.pid, detail: `${c.software} client of ${c.cell}${c.module ? `, module ${c.module}` : ''}` });
    }
    return { hosts, domains, services };
  };

  const serviceOp = (address: string, action: 'stop' | 'start'): void => {
    const { type, name: guest } = parseAddress(address) ?? { type: undefined, name: '' };
    const rec = type === 'kdc' ? own(w.kdcs, guest) : type === 'afs-db' ? own(w.afsdbs, guest)
      : type === 'afs-fs' ? own(w.fileservers, guest) : type === 'afs-client' ? own(w.clients, guest) : undefined;
    if (!rec) throw new Error(`${address}: no such service in the simulator`);
    if (action === 'stop') {
      rec.running = false;
      return;
    }
    const d = requireUp(w, guest, `start ${address}`);
    rec.running = true;
    if ('pids' in rec) rec.pids = { ptserver: spawn(d), vlserver: spawn(d) };
    else rec.pid = spawn(d);
    if ('volserver_pid' in rec) rec.volserver_pid = spawn(d);
  };

  const xmOp = (guest: string, op: XmOp): DomainStatus => {
    const before = domainOf(w, guest);
    const modules = before ? Object.values(before.modules).map((m) => ({ id: m.id, name: m.name })) : [];
    const d = xm(w, catalog, guest, op);
    if ((op === 'start' || op === 'reboot') && isUp(d)) restartOnBoot(guest, modules);
    return domainStatus(guest);
  };

  const unwrap = <T>(r: { ok: true; value: T } | { ok: false; error: string }): T => {
    if (!r.ok) throw new Error(r.error);
    return r.value;
  };

  return {
    name: 'sim',
    capabilities: capabilitiesOf('sim'),
    world: w,
    read: (prior) => guarded(() => readSim(w, prior)),
    create: (r) => guarded(() => create(r)),
    update: (prior, r) => guarded(() => update(prior, r)),
    delete: (prior) => guarded(() => remove(prior)),
    console: (guest) => guarded(() => {
      const d = domainOf(w, guest);
      if (d) return [...d.console, ...(d.log.length ? [`--- ${guest}:/var/log/messages ---`, ...d.log] : [])].join('\n') + '\n';
      const past = own(w.graveyard, guest);
      if (past) return [...past, `[domain ${guest} no longer exists]`].join('\n') + '\n';
      throw new Error(`Error: Domain '${guest}' does not exist.`);
    }),
    status: () => guarded(status),
    check: (c: Check) => guarded((): CheckResult => {
      try {
        return runCheck(w, env, c);
      } catch (e) {
        return { status: 'fail', message: scrub(e).message };
      }
    }),
    exec: async (req) => {
      // Input is read whole when the command reads it and it is not a terminal (a password for kinit, a file for cat).
      const stdin = req.stdin.isTTY || !readsStdin(req.argv) ? '' : await readAll(req.stdin);
      const r = await guarded(() => {
        requireUp(w, req.guest, `cellctl exec ${req.guest}`);
        return runShell(w, env, { guest: req.guest, cell: ctx.cell, argv: req.argv, stdin, ...(req.as ? { as: req.as } : {}) });
      });
      const masker = new Masker(ctx.secrets.all());
      for (const o of r.output) (o.fd === 1 ? req.stdout : req.stderr).write(masker.mask(o.text));
      return r.status;
    },
    keytab: (principal) => guarded(() => keytabKeys(w, env, principal)),
    migrate: (guest, toHost) => guarded(() => {
      const out = migrate(w, catalog, guest, toHost);
      ctx.log(`Migrated ${guest} live to ${toHost} (domain ${out.domid})`);
      return out;
    }),
    // Everything in the simulated world is this cell's: a purge powers off every domain and forgets every host.
    purge: () => guarded(() => {
      const removed = [...Object.keys(w.domains).map((g) => `domain ${g}`), ...Object.keys(w.hosts).map((h) => `host ${h}`)];
      for (const g of Object.keys(w.domains)) destroyGuest(w, ctx.stateDir, g);
      for (const h of Object.keys(w.hosts)) delete w.hosts[h];
      return removed;
    }),
    snapshot: () => w,
    close: () => guarded(() => ctx.secrets.save()),
    xm: (guest, op) => guarded(() => xmOp(guest, op)),
    service: (address, action) => guarded(() => serviceOp(address, action)),
    aklog: (guest, principal) => guarded(() => describeToken(own(w.clients, guest)?.cell ?? ctx.cell, unwrap(aklog(w, env, guest, principal)))),
    afsWrite: (guest, path, data, principal) => guarded(() => void unwrap(afsWrite(w, guest, path, data, principal))),
    afsRead: (guest, path, principal) => guarded(() => unwrap(afsRead(w, guest, path, principal))),
    afsList: (guest, path, principal) => guarded(() => unwrap(afsList(w, guest, path, principal))),
  };
}
