// Smoke checks evaluated against the world: each one does what the real command would (kinit asks
// a KDC, client-file-rw writes through the cache manager and reads back from the fileserver).
import type { CheckResult, Check } from '../driver.js';
import type { Attrs } from '../../plan/resources.js';
import { cellDbservers, describeQuorum, fsUp, dbUp, quorum, requireDbRead } from './afs.js';
import { aklog, clientUp, describeToken, tokenAccepted } from './afsclient.js';
import { ACCESS_CHECKS } from './checks-access.js';
import { afsList, afsRead, afsResolve, afsWrite } from './files.js';
import { groupsOf } from './pts.js';
import { kdcUp, kinit, type KrbEnv } from './kerberos.js';
import { moduleLoaded } from './modules.js';
import { advance, domainOf, excerpt, isUp, own, SECONDS, syslogTime, type World } from './world.js';

const pass = (message: string, detail?: string): CheckResult => (detail ? { status: 'pass', message, detail } : { status: 'pass', message });
const failed = (message: string, detail?: string): CheckResult => (detail ? { status: 'fail', message, detail } : { status: 'fail', message });

function str(p: Attrs, key: string): string | undefined {
  const v = p[key];
  return typeof v === 'string' ? v : undefined;
}

/** The guest must be up; otherwise say what state it is in and show its console's last lines. */
function guestDown(w: World, guest: string | undefined): CheckResult | null {
  if (!guest) return failed('no guest given for this check');
  const d = domainOf(w, guest);
  if (!d) return failed(`guest ${guest} does not exist`, excerpt(w, guest) || undefined);
  if (!isUp(d)) return failed(`guest ${guest} is ${d.state}`, excerpt(w, guest));
  return null;
}

type CheckFn = (w: World, env: KrbEnv, c: Check) => CheckResult;

const CHECKS: Partial<Record<Check['kind'], CheckFn>> = {
  'guest-running': (w, _env, c) => {
    const guest = str(c.params, 'guest') ?? c.guest;
    const down = guestDown(w, guest);
    if (down) return down;
    const d = w.domains[guest!]!;
    return pass(`${guest} is ${d.state} on ${d.host} as domain ${d.domid} (${d.memory} MiB)`);
  },

  'kdc-answers': (w, _env, c) => {
    const down = guestDown(w, c.guest);
    if (down) return down;
    const k = own(w.kdcs, c.guest!);
    const realm = str(c.params, 'realm');
    if (!k) return failed(`no KDC on ${c.guest}`, excerpt(w, c.guest!));
    if (!kdcUp(w, k)) return failed(`the KDC on ${c.guest} is not running`, excerpt(w, c.guest!));
    if (realm && k.realm !== realm) return failed(`the KDC on ${c.guest} serves ${k.realm}, not ${realm}`);
    return pass(`${k.role} KDC for ${k.realm} on ${c.guest} answers (pid ${k.pid}, ${Object.keys(k.db).length} principals)`);
  },

  kinit: (w, env, c) => {
    const down = guestDown(w, c.guest);
    if (down) return down;
    const principal = str(c.params, 'principal') ?? '';
    const r = kinit(w, env, c.guest!, principal);
    advance(w, SECONDS.check);
    if (!r.ok) return failed(r.error, r.kdc ? excerpt(w, r.kdc, 6, (l) => l.includes('krb5kdc') || l.includes(' kdc[')) : undefined);
    return pass(`kinit ${r.full} on ${c.guest}: ticket from the KDC on ${r.kdc} (authtime ${r.authtime})`);
  },

  'afs-quorum': (w, _env, c) => {
    const listed = c.params.dbservers;
    const servers = Array.isArray(listed) ? listed.map(String) : cellDbservers(w);
    const q = quorum(w, servers);
    const detail = servers.map((g) => `${g}: ${dbUp(w, g) ? 'up' : `down (${domainOf(w, g)?.state ?? 'no such guest'}${own(w.afsdbs, g) ? '' : ', no ptserver/vlserver'})`}`).join('\n');
    return q.quorum ? pass(`ubik quorum: ${describeQuorum(q)}`, detail) : failed(`no ubik quorum: ${describeQuorum(q)}`, detail);
  },

  'volume-listed': (w, _env, c) => {
    const volume = str(c.params, 'volume') ?? '';
    const server = str(c.params, 'server');
    const partition = str(c.params, 'partition');
    let cell: ReturnType<typeof requireDbRead>;
    try {
      cell = requireDbRead(w, `vos listvldb ${volume}`);
    } catch (e) {
      return failed((e as Error).message);
    }
    const entry = own(cell.vldb.entries, volume);
    if (!entry) return failed(`vos listvldb: no VLDB entry for ${volume}`);
    if ((server && entry.server !== server) || (partition && entry.partition !== partition)) {
      return failed(`${volume} is on ${entry.server} ${entry.partition} in the VLDB, expected ${server} ${partition}`);
    }
    if (!fsUp(w, entry.server)) return failed(`vos listvol ${entry.server}: the volserver does not answer`, excerpt(w, entry.server));
    const vol = own(w.fileservers[entry.server]!.attached, entry.partition)?.[String(entry.volid)];
    if (!vol) return failed(`${volume} (${entry.volid}) is in the VLDB but not on ${entry.server} ${entry.partition}`);
    return pass(`${volume} ${entry.volid} RW On-line on ${entry.server} ${entry.partition} (${Object.keys(vol.files).length} files)`);
  },

  'pts-user': (w, _env, c) => {
    const user = str(c.params, 'user') ?? '';
    let cell: ReturnType<typeof requireDbRead>;
    try {
      cell = requireDbRead(w, `pts examine ${user}`);
    } catch (e) {
      return failed((e as Error).message);
    }
    const e = own(cell.prdb.entries, user);
    if (e?.kind !== 'user') return failed(`pts: User or group doesn't exist so couldn't look up id for ${user}`);
    const groups = groupsOf(cell, user);
    return pass(`${user}: id ${e.id}${groups.length ? `, member of ${groups.join(', ')}` : ''}`);
  },

  'bos-status': (w, _env, c) => {
    const g = c.guest ?? '';
    const down = guestDown(w, g);
    if (down) return failed(`bos: failed to contact host's bosserver on ${g} (communications failure (-1))`, down.detail);
    const lines: string[] = [];
    let bad = 0;
    const inst = (name: string, running: boolean) => {
      lines.push(`Instance ${name}, ${running ? 'currently running normally.' : 'temporarily disabled, currently shutdown.'}`);
      if (!running) bad++;
    };
    const db = own(w.afsdbs, g);
    if (db) { inst('ptserver', db.running); inst('vlserver', db.running); }
    const fs = own(w.fileservers, g);
    if (fs) inst('fs', fs.running);
    if (lines.length === 0) return failed(`no AFS server instances on ${g}`);
    return bad === 0 ? pass(`bos status ${g}: ${lines.length} instances running`, lines.join('\n')) : failed(`bos status ${g}: ${bad} of ${lines.length} instances down`, lines.join('\n'));
  },

  'client-module': (w, _env, c) => {
    const down = guestDown(w, c.guest);
    if (down) return down;
    const module = c.params.module;
    if (module === null || module === undefined) return { status: 'skip', message: `the AFS client on ${c.guest} uses no kernel module` };
    const d = w.domains[c.guest!]!;
    if (moduleLoaded(d, String(module))) return pass(`${module} is loaded on ${c.guest}`);
    const name = String(module);
    const err = Object.entries(d.modload_errors).find(([n]) => name.includes(n));
    return failed(`${module} is not loaded on ${c.guest}${err ? `: ${err[1].split('\n')[0]}` : ''}`,
      err ? err[1] : excerpt(w, c.guest!, 8, (l) => l.includes('module') || l.includes('Unknown symbol')));
  },

  'client-tokens': (w, env, c) => {
    const down = guestDown(w, c.guest);
    if (down) return down;
    const principal = str(c.params, 'principal') ?? '';
    const t = tokenAccepted(w, env, c.guest!, principal);
    if (!t.ok) return failed(t.error, excerpt(w, c.guest!, 6));
    const cell = w.clients[c.guest!]!.cell;
    return pass(`${describeToken(cell, t.value.token)}; the fileserver on ${t.value.server} accepted it (authenticated FetchStatus of /afs/${cell})`);
  },

  'client-file-rw': (w, env, c) => {
    const down = guestDown(w, c.guest);
    if (down) return down;
    const g = c.guest!;
    const principal = str(c.params, 'principal') ?? '';
    const path = str(c.params, 'path') ?? '';
    const t = aklog(w, env, g, principal);
    if (!t.ok) return failed(`no tokens for ${principal}: ${t.error}`, excerpt(w, g, 6));
    const data = `cellctl smoke ${c.id} from ${g} at ${syslogTime(w.clock)}\n`;
    const wr = afsWrite(w, g, path, data, principal);
    if (!wr.ok) return failed(`write ${path} as ${principal}: ${wr.error}`, excerpt(w, g, 6));
    const rd = afsRead(w, g, path, principal);
    if (!rd.ok) return failed(`read back ${path}: ${rd.error}`, excerpt(w, g, 6));
    if (rd.value !== data) return failed(`read back ${path}: got ${JSON.stringify(rd.value)}, wrote ${JSON.stringify(data)}`);
    const v = wr.value;
    return pass(`wrote and read back ${v.bytes} bytes at ${path} as ${principal} (volume ${v.volume} ${v.volid} on ${v.server})`);
  },

  'client-anon-refused': (w, _env, c) => {
    const down = guestDown(w, c.guest);
    if (down) return down;
    const path = str(c.params, 'path') ?? '';
    if (!clientUp(w, c.guest!)) return failed(`no working AFS client on ${c.guest}`, excerpt(w, c.guest!, 6));
    // Without tokens: write the path; if it names a directory, list it instead.
    const wr = afsWrite(w, c.guest!, path, `anonymous write from ${c.guest}\n`, null);
    if (wr.ok) return failed(`anonymous write to ${path} was allowed: system:anyuser can insert into it`);
    if (!wr.error.endsWith('Is a directory')) {
      return wr.error.endsWith('Permission denied') ? pass(`anonymous write refused: ${wr.error}`) : failed(`anonymous write to ${path} failed for another reason: ${wr.error}`);
    }
    const r = afsList(w, c.guest!, path, null);
    if (r.ok) return failed(`anonymous ls ${path} was allowed (${r.value.length} entries): system:anyuser has rights on it`);
    if (!r.error.endsWith('Permission denied')) return failed(`anonymous ls ${path} failed for another reason: ${r.error}`);
    return pass(`anonymous access refused: ${r.error}`);
  },

  'afs-resolves': (w, _env, c) => {
    const down = guestDown(w, c.guest);
    if (down) return down;
    const path = str(c.params, 'path') ?? '';
    const r = afsResolve(w, c.guest!, path);
    if (!r.ok) return failed(r.error, excerpt(w, c.guest!, 6));
    const v = r.value;
    return pass(`${path} -> ${v.volume} (${v.volid}) on ${v.server} ${v.partition}`);
  },
};

const ALL: Partial<Record<Check['kind'], CheckFn>> = { ...CHECKS, ...ACCESS_CHECKS };

export function runCheck(w: World, env: KrbEnv, c: Check): CheckResult {
  const fn = Object.hasOwn(ALL, c.kind) ? ALL[c.kind] : undefined;
  if (!fn) return failed(`the simulator has no check of kind '${c.kind}'`);
  if (c.guest && !ACCESS_NEEDS_NO_GUEST.has(c.kind)) {
    const down = guestDown(w, c.guest);
    if (down && ACCESS_CHECKS[c.kind]) return down;
  }
  return fn(w, env, c);
}

/** Checks of ACCESS_CHECKS that run on the databases, not on a guest. */
const ACCESS_NEEDS_NO_GUEST = new Set<Check['kind']>(['pts-group']);
