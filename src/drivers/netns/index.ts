// --driver netns: a real Kerberos realm and AFS cell on this machine. Hosts and guests are network
// namespaces, the daemons are Debian's krb5kdc, bosserver/ptserver/vlserver/dafs and afsd.fuse.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { addr } from '../../plan/addrs.js';
import type { AfsBuild, Attrs, Resource } from '../../plan/resources.js';
import { capabilitiesOf } from '../capabilities.js';
import { masterPassword, principalPassword } from '../../state/secrets.js';
import type { AppliedResource, CheckResult, Check, Driver, DriverContext, DriverStatus } from '../driver.js';
import { Masker } from '../../render/mask.js';
import { createKdc, createPrincipal, createServiceKey, deleteKdc, deletePrincipal, deleteServiceKey, kdcPid } from '../services/kerberos.js';
import { bosPid } from '../services/afs-servers.js';
import { createAfsDb, createPtsUser, deleteAfsDb, deletePtsUser, runningVersion, startDbServer, stopDbServer } from '../services/afs-db.js';
import { buildLabel, buildOf } from '../services/afs-build.js';
import { createAfsFs, createPartition, createVolume, deleteAfsFs, deleteVolume, forgetPartition } from '../services/afs-fs.js';
import { instancePids } from '../services/health.js';
import { Runner } from './exec.js';
import { Layout } from './layout.js';
import { cellNamespaces, createGuest, createHost, deleteGuest, deleteHost, killAll, migrateGuest, netnsExists, pidsInNetns, pidsWithMarker } from './namespaces.js';
import { addSite, backup, createPtsGroup, deletePtsGroup, moveVolume, release, removeBackup, removeSite, setQuota } from '../services/afs-admin.js';
import { keytabEnctypes, NETNS_OPENAFS } from './notes.js';
import { clientPid, createClient, deleteClient, helperMissing } from './client.js';
import { clearAcl, createMount, deleteMount, setAcl } from './afs-fs-admin.js';
import { createKeytab, deleteKeytab } from './keytabs.js';
import { runCheck } from './checks.js';
import { readNetns, unstick } from './health.js';
import { execInGuest } from './guest-exec.js';
import { bosAlive, mountedIn, netnsServices } from './placement.js';

export interface NetnsDriver extends Driver {
  /** Fault injection: stop a db server's ptserver and vlserver (as if it failed); start them again. */
  stopDbServer(guest: string): Promise<void>;
  startDbServer(guest: string): Promise<void>;
  /** Removes everything this cell left: processes, namespaces (with their veths and bridges), mounts, files. */
  destroyAll(): Promise<string[]>;
  readonly prefix: string;
}

const which = (cmd: string): boolean =>
  (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').concat(['/usr/sbin', '/sbin']).some((d) => existsSync(join(d, cmd)));

/** Can the netns driver run here? Root, iproute2, MIT krb5, OpenAFS servers and afsd.fuse. */
export function netnsPrerequisites(): { ok: boolean; reason?: string } {
  if (process.platform !== 'linux') return { ok: false, reason: 'the netns driver needs Linux network namespaces' };
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return { ok: false, reason: 'the netns driver needs root (network and mount namespaces)' };
  const need: [string, string][] = [
    ['ip', 'iproute2'], ['unshare', 'util-linux'], ['nsenter', 'util-linux'],
    ['krb5kdc', 'krb5-kdc'], ['kdb5_util', 'krb5-kdc'], ['kadmin.local', 'krb5-admin-server'], ['kinit', 'krb5-user'],
    ['bosserver', 'openafs-fileserver'], ['asetkey', 'openafs-krb5'], ['aklog', 'openafs-krb5'], ['bos', 'openafs-client'],
    ['pts', 'openafs-client'], ['vos', 'openafs-client'], ['udebug', 'openafs-client'], ['afsd.fuse', 'openafs-fuse'],
  ];
  const extraFiles: [string, string][] = [['/usr/lib/openafs/ptserver', 'openafs-dbserver'], ['/usr/lib/openafs/vlserver', 'openafs-dbserver'], ['/usr/lib/openafs/dafileserver', 'openafs-fileserver'], ['/dev/fuse', 'fuse (kernel /dev/fuse)']];
  const missing = new Set<string>();
  for (const [cmd, pkg] of need) if (!which(cmd)) missing.add(pkg);
  for (const [file, pkg] of extraFiles) if (!existsSync(file)) missing.add(pkg);
  if (missing.size) {
    const pkgs = [...missing].filter((p) => !p.includes(' '));
    return { ok: false, reason: `missing ${[...missing].join(', ')}: apt-get install -y --no-install-recommends ${pkgs.join(' ')}` };
  }
  const opt = helperMissing();
  return opt ? { ok: true, reason: `client-tokens and client-file-rw checks will skip: ${opt}` } : { ok: true };
}

export function createNetnsDriver(ctx: DriverContext): NetnsDriver {
  const masker = new Masker();
  masker.add(...ctx.secrets.all());
  const r = new Runner(masker);
  const L = new Layout(ctx.cell, ctx.realm, ctx.stateDir, ctx.world, (world) => ctx.checkpoint(world));
  L.log = (line) => ctx.log(masker.mask(line));
  const s = netnsServices(r, L, masker);
  const pw = (principal: string) => {
    const v = principalPassword(ctx.secrets, principal);
    masker.add(v);
    return v;
  };
  const standIn = (software: string) => {
    const sw = ctx.catalog.software.get(software);
    return sw?.debian_stand_in;
  };
  /** What serves a server: your own build, else the catalog's Debian stand-in. */
  const servedBy = (a: AfsBuild & { software: string }): Record<string, string> => {
    const si = standIn(a.software);
    return a.prefix ? { openafs: buildLabel(buildOf(a)) } : si ? { stand_in: si } : {};
  };
  const safe = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      throw new Error(masker.mask(`${what}: ${(e as Error).message}`));
    }
  };

  /** `restart`: an update whose server software changed (catalog release, build): its servers restart from it. */
  const create = async (res: Resource, restart = false): Promise<Attrs | void> => safe(res.address, async () => {
    switch (res.type) {
      case 'host': {
        const bridges = await createHost(r, L, res.name, res.attrs);
        return { netns: L.hostNs(res.name), bridges: Object.values(bridges) };
      }
      case 'guest': {
        const g = await createGuest(r, L, res.name, res.attrs);
        return { netns: g.ns, host_netns: L.reg.hosts[g.host]!.ns, ip: g.ip, ips: g.ips, veths: g.veths, dir: g.dir };
      }
      case 'module': {
        const m = res.attrs;
        L.reg.modules[res.name] = { guest: m.guest, module: m.module };
        L.save();
        return { loaded: false, note: `no guest kernel in the netns driver: ${m.name} is not loaded; the AFS client is afsd.fuse in user space` };
      }
      case 'kdc': {
        const pwd = masterPassword(ctx.secrets);
        masker.add(pwd);
        return createKdc(s, ctx.catalog, res.attrs, pwd);
      }
      case 'principal':
        return createPrincipal(s, res.attrs, pw(res.attrs.principal));
      case 'service-key':
        return createServiceKey(s, res.attrs);
      case 'afs-db':
        return { ...(await createAfsDb(s, res.attrs, { restart })), ...servedBy(res.attrs) };
      case 'afs-fs':
        return { ...(await createAfsFs(s, res.attrs, { restart })), ...servedBy(res.attrs) };
      case 'partition':
        return { ...(await createPartition(s, s.place(res.attrs.guest), res.attrs.path)), dir: L.afsPath(res.attrs.guest, res.attrs.path) };
      case 'volume':
        return createVolume(s, res.attrs);
      case 'pts-user':
        return createPtsUser(s, res.attrs);
      case 'afs-client':
        return createClient(s, L, res.attrs, standIn(res.attrs.software));
      case 'pts-group':
        return createPtsGroup(s, res.attrs);
      case 'quota':
        return setQuota(s, res.attrs);
      case 'ro-site':
        return addSite(s, res.attrs);
      case 'release':
        return release(s, res.attrs);
      case 'backup':
        return backup(s, res.attrs);
      case 'mount':
        return createMount(r, L, s, pw, res.attrs);
      case 'acl':
        return setAcl(r, L, s, pw, res.attrs);
      case 'keytab':
        return createKeytab(r, L, s, res.attrs, keytabEnctypes(res.attrs.enctypes, ctx.catalog));
    }
  });

  const del = async (prior: AppliedResource): Promise<void> => safe(prior.address, async () => {
    switch (prior.type) {
      case 'host': return deleteHost(r, L, prior.name);
      case 'guest': return deleteGuest(r, L, prior.name);
      case 'module':
        delete L.reg.modules[prior.name];
        return L.save();
      case 'kdc': return deleteKdc(s, prior.attrs.guest);
      case 'principal': return deletePrincipal(s, prior.attrs.principal);
      case 'service-key': return deleteServiceKey(s, prior.attrs.principal);
      case 'afs-db': return deleteAfsDb(s, prior.attrs.guest);
      case 'afs-fs': return deleteAfsFs(s, prior.attrs.guest);
      case 'partition': {
        const pid = bosAlive(L, prior.attrs.guest);
        if (pid && mountedIn(pid, prior.attrs.path)) await r.run('nsenter', ['-t', String(pid), '-m', '--', 'umount', '-l', prior.attrs.path]);
        rmSync(L.afsPath(prior.attrs.guest, prior.attrs.path), { recursive: true, force: true });
        return forgetPartition(s, prior.attrs.guest, prior.attrs.path);
      }
      case 'volume': return deleteVolume(s, prior.attrs);
      case 'pts-user': return deletePtsUser(s, prior.attrs);
      case 'afs-client': return deleteClient(r, L, prior.attrs.guest);
      case 'pts-group': return deletePtsGroup(s, prior.attrs);
      case 'quota': return void (await setQuota(s, prior.attrs, 0).catch(() => undefined)); // its volume may be gone first
      case 'ro-site': return removeSite(s, prior.attrs);
      case 'release': return; // the clones go with their sites
      case 'backup': return removeBackup(s, prior.attrs);
      case 'keytab': return deleteKeytab(L, s, prior.attrs);
      case 'mount': return deleteMount(r, L, s, pw, prior.attrs);
      case 'acl': return clearAcl(r, L, s, pw, prior.attrs);
    }
  });

  const destroyAll = async (): Promise<string[]> => {
    // By name prefix and /proc, not only the registry: works after a crash or Ctrl-C too.
    const nss = await cellNamespaces(r, L.prefix);
    const guestsFirst = [...nss].sort((x, y) => Number(x.includes('-h-')) - Number(y.includes('-h-')));
    await killAll(() => [...new Set([...guestsFirst.flatMap((ns) => pidsInNetns(ns)), ...pidsWithMarker(L.prefix)])]);
    for (const ns of guestsFirst) await r.run('ip', ['netns', 'del', ns]);
    rmSync(L.root, { recursive: true, force: true });
    L.reset();
    return guestsFirst;
  };

  const kdcOf = async (g: string) => (s.has(g) ? kdcPid(s.place(g)) : undefined);
  const status = async (): Promise<DriverStatus> => {
    const hosts = Object.entries(L.reg.hosts).map(([name, h]) => {
      const used = h.dom0 + Object.values(L.reg.guests).filter((g) => g.host === name).reduce((s, g) => s + g.memory, 0);
      return { name, memory: h.memory, used, free: h.memory - used };
    });
    const domains = Object.entries(L.reg.guests).map(([name, g]) => ({
      id: null, name, host: g.host, state: netnsExists(g.ns) ? 'running' : 'missing', memory: g.memory, vifs: g.ips,
    }));
    const services: DriverStatus['services'] = [];
    const svc = (address: string, guest: string, pid: number | undefined, detail: string) =>
      services.push({ address, guest, state: pid ? 'up' : 'down', ...(pid ? { pid } : {}), detail });
    const up = (g: string) => (s.has(g) ? s.place(g) : undefined);
    // Which OpenAFS answers: the build bosserver was started from, and what its server says it is.
    const software = async (g: string, port: string) => {
      const p = up(g);
      const v = p && (await bosPid(s, p)) ? await runningVersion(p, port) : undefined;
      return `; ${buildLabel(L.reg.afsBuild?.[g])}, rxdebug -version: ${v ?? 'no answer'}`;
    };
    for (const g of Object.keys(L.reg.kdcs)) svc(addr.kdc(g), g, await kdcOf(g), `krb5kdc ${L.reg.kdcs[g]!.role}`);
    for (const g of L.reg.afsDb) {
      const p = up(g);
      svc(addr.afsDb(g), g, p && (await bosPid(s, p)), `bosserver; ${p ? await instancePids(p, ['ptserver', 'vlserver']) : 'no instances'}${await software(g, '7002')}`);
    }
    for (const g of Object.keys(L.reg.afsFs)) {
      const p = up(g);
      svc(addr.afsFs(g), g, p && (await bosPid(s, p)), `bosserver; ${p ? await instancePids(p, ['dafs']) : 'no instances'}${await software(g, '7000')}`);
    }
    for (const g of Object.keys(L.reg.clients)) svc(addr.afsClient(g), g, clientPid(L, g), `afsd.fuse on /afs (${buildLabel(L.reg.clients[g]!.build)})`);
    return { hosts, domains, services };
  };

  const console_ = async (guest: string): Promise<string> => {
    const g = L.reg.guests[guest];
    const head = `netns driver: guest ${guest} is a network namespace (${g?.ns ?? 'not up'}) with no kernel and no boot console; its daemons' logs follow.`;
    const logs: [string, string][] = [
      ['KDC', join(L.kdcDir(guest), 'kdc.log')],
      ...['BosLog', 'PtLog', 'VLLog', 'FileLog', 'VolserLog', 'SalsrvLog', 'afsd.fuse.log'].map((f): [string, string] => [f, L.afsPath(guest, `/var/log/openafs/${f}`)]),
    ];
    const parts = [head];
    for (const [name, file] of logs) {
      if (!existsSync(file)) continue;
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n').slice(-40);
      parts.push(`==> ${name} (${file}) <==`, ...lines);
    }
    return masker.mask(parts.join('\n'));
  };

  return {
    name: 'netns',
    capabilities: capabilitiesOf('netns'),
    prefix: L.prefix,
    read: (prior) => readNetns(r, L, s, prior),
    create: (res) => create(res),
    async update(prior: AppliedResource, res: Resource) {
      // Every create converges on what exists (it starts what is not running); a changed guest gets
      // its vifs re-made, and a daemon that lives but does not answer is ended first.
      if (res.type === 'guest' && prior.type === 'guest' && JSON.stringify(prior.attrs.vifs) !== JSON.stringify(res.attrs.vifs)) {
        const g = L.reg.guests[res.name];
        if (g) for (const v of g.veths) await r.run('ip', ['-n', L.reg.hosts[g.host]!.ns, 'link', 'del', v]);
      }
      await safe(res.address, () => unstick(r, L, s, res));
      if (res.type === 'volume' && prior.type === 'volume' && (prior.attrs.server !== res.attrs.server || prior.attrs.partition !== res.attrs.partition)) {
        await safe(res.address, () => moveVolume(s, prior.attrs, res.attrs));
      }
      const newSoftware = (res.type === 'afs-db' || res.type === 'afs-fs') && prior.type === res.type && prior.attrs.software !== res.attrs.software;
      return create(res, newSoftware);
    },
    delete: del,
    console: console_,
    status,
    async check(c: Check): Promise<CheckResult> {
      const res = await runCheck({ r, L, s, password: pw, quotaSpareKb: ctx.catalog.software.get(NETNS_OPENAFS)?.quota_spare?.kb ?? 0 }, c);
      return { ...res, message: masker.mask(res.message), ...(res.detail ? { detail: masker.mask(res.detail) } : {}) };
    },
    async migrate(guest: string, toHost: string) {
      return safe(`migrate ${guest}`, () => migrateGuest(r, L, guest, toHost));
    },
    exec: (req) => safe(`exec on ${req.guest}`, () => execInGuest(r, L, s, req)),
    snapshot: () => L.reg,
    async close() {
      /* the cell keeps running between commands: nothing to close */
    },
    stopDbServer: (guest) => safe(`stop db server ${guest}`, () => stopDbServer(s, guest)),
    startDbServer: (guest) => safe(`start db server ${guest}`, () => startDbServer(s, guest)),
    destroyAll,
    purge: destroyAll,
  };
}

/** Cleanup without a driver context: every namespace and process of a cell's netns prefix. */
export async function netnsCleanup(prefix: string): Promise<string[]> {
  const r = new Runner(new Masker());
  const nss = await cellNamespaces(r, prefix);
  await killAll(() => [...new Set([...nss.flatMap((ns) => pidsInNetns(ns)), ...pidsWithMarker(prefix)])]);
  for (const ns of nss) await r.run('ip', ['netns', 'del', ns]);
  return nss;
}
