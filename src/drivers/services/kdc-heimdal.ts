// The Heimdal implementation of the KDC service: Debian's Heimdal 7.8 unpacked beside MIT krb5
// (heimdal/install.ts), the realm in the placement's KDC directory, administered with `kadmin -l`
// (local database access) on this machine, and the `kdc` daemon started in the guest's network
// namespace. It needs a placement that is a namespace here (Placement.netns): drivers that run it
// say so in capabilities.kdcProducts. Replicas get the master's database by `kadmin -l dump` and
// `load` with the same master key (what hprop would carry).
import { copyFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { KdcAttrs } from '../../plan/resources.js';
import { scrubbedEnv } from '../../state/secrets.js';
import {
  DEFAULT_ENCTYPES, ensureHeimdal, HeimdalRealm, kdcPid, realmFiles, startKdc, stopKdc, writeRealmConfig,
  type HeimdalInstall,
} from './heimdal/index.js';
import { must } from './heimdal/run.js';
import { masterOf, type KdcBackend } from './kdc-backend.js';
import type { Placement, Services } from './placement.js';

export const HEIMDAL_PROPAGATION = 'kadmin -l dump on the master, kadmin -l load on the replica with the master key stash (what hprop carries)';

let install: Promise<HeimdalInstall> | undefined;

/** Downloads and unpacks Heimdal once per process (ensureHeimdal caches the prefix across processes). */
function heimdal(): Promise<HeimdalInstall> {
  install ??= ensureHeimdal().catch((e: unknown) => {
    install = undefined;
    throw e;
  });
  return install;
}

function netnsOf(p: Placement): string {
  if (!p.netns) throw new Error(`the Heimdal KDC runs in a network namespace on this machine; guest ${p.guest} is a ${p.kind} guest`);
  return p.netns;
}

function options(p: Placement, realm: string) {
  return { dir: p.paths.kdc, realm, kdcAddresses: [p.ip()] };
}

async function realmAt(x: Services, realm: string): Promise<HeimdalRealm> {
  const m = x.place(masterOf(x, realm));
  return HeimdalRealm.open(await heimdal(), options(m, realm));
}

/** Loads the master's database into a replica's directory (config, stash, dump). */
async function loadReplica(x: Services, realm: string, replica: Placement): Promise<void> {
  const h = await heimdal();
  const master = await realmAt(x, realm);
  const dump = join(master.options.dir, `datatrans.${replica.guest}`);
  await master.kadmin(['dump', dump]);
  const files = writeRealmConfig(options(replica, realm));
  copyFileSync(master.files.stash, files.stash);
  await must(h.bin.kadmin, ['-l', `--config-file=${files.kdcConf}`, `--realm=${realm}`, 'load', dump], { env: { ...h.env, KRB5_CONFIG: files.krb5Conf } });
  rmSync(dump, { force: true });
}

async function propagate(x: Services, realm: string): Promise<void> {
  for (const [g, k] of Object.entries(x.reg.kdcs)) if (k.role === 'replica' && k.realm === realm && x.has(g)) await loadReplica(x, realm, x.place(g));
}

export function heimdalKdc(): KdcBackend {
  return {
    product: 'heimdal',
    async start(x: Services, p: Placement, a: KdcAttrs, masterPw: string) {
      const ns = netnsOf(p);
      const h = await heimdal();
      if (a.role === 'master') await HeimdalRealm.create(h, options(p, a.realm), masterPw);
      else await loadReplica(x, a.realm, p);
      if (!kdcPid(p.paths.kdc)) {
        await stopKdc(p.paths.kdc); // workers of a killed master still hold port 88
        await startKdc(h, { dir: p.paths.kdc, netns: ns, env: { ...scrubbedEnv(), ...p.daemonEnv } });
      }
      const f = realmFiles(p.paths.kdc);
      return {
        runs: `${h.version} (Debian heimdal-kdc ${h.packageVersion}, unpacked in ${h.prefix})`, database: f.database, log: f.kdcLog,
        ...(a.role === 'replica' ? { propagation: HEIMDAL_PROPAGATION } : {}),
      };
    },
    async pid(p: Placement) {
      return kdcPid(p.paths.kdc);
    },
    async remove(p: Placement) {
      if (existsSync(p.paths.kdc)) await stopKdc(p.paths.kdc);
      await p.remove(p.paths.kdc);
    },
    propagate,
    async get(x, realm, principal) {
      const info = await (await realmAt(x, realm)).getPrincipal(principal);
      return info ? { kvno: info.kvno, enctypes: info.enctypes } : undefined;
    },
    async setPassword(x, realm, principal, pw, enctypes) {
      const r = await realmAt(x, realm);
      const info = await r.addPrincipal(principal, pw); // the realm's default_keys: DEFAULT_ENCTYPES
      const missing = (enctypes ?? []).filter((e) => !info.enctypes.includes(e));
      if (missing.length) throw new Error(`Heimdal made ${principal} keys of ${info.enctypes.join(', ')}, not ${missing.join(', ')}`);
      await propagate(x, realm);
    },
    async addRandom(x, realm, principal) {
      await (await realmAt(x, realm)).addRandomKey(principal);
      await propagate(x, realm);
    },
    async extract(x, realm, principal, file, enctypes) {
      const r = await realmAt(x, realm);
      const got = await r.extractKeytab(principal, file, enctypes.length ? [...enctypes] : DEFAULT_ENCTYPES);
      await propagate(x, realm);
      return { kvno: got.kvno, enctypes: got.enctypes };
    },
    async delete(x, realm, principal) {
      const r = await realmAt(x, realm);
      if (await r.getPrincipal(principal)) await r.kadmin(['delete', principal]);
      await propagate(x, realm);
    },
  };
}
