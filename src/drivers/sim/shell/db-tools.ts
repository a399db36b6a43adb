// pts and vos in the sim's shell, answering from the PRDB and VLDB as OpenAFS's tools print them. The
// caller is the shell's token's user, or the server itself with -localauth on a server guest.
import { cellDbservers, dbUp, describeQuorum, quorum } from '../afs.js';
import { groupsOf, nameOf } from '../pts.js';
import { backup, idOf, release, usageKb } from '../volumes.js';
import { guestIp, own, reachable, type SimAfsCell, type SimVldbEntry, type SimVolume } from '../world.js';
import { afsArgs, hasAfsTools, isServer, tokenPrincipal, type Cmd, type Ctx } from './context.js';
import { notFound } from './krb.js';

/** Who the databases see: `admin` for -localauth or a token of system:administrators. */
function caller(c: Ctx, localauth: boolean, tool: string): { user: string | null; admin: boolean } | string {
  if (localauth) return isServer(c) ? { user: null, admin: true } : `${tool}: Couldn't get AFS tokens from the local server KeyFile: no such file (-localauth works on an AFS server)`;
  const p = tokenPrincipal(c);
  const t = p ? own(c.w.clients, c.guest)!.tokens[p]! : undefined;
  const user = t?.viceid != null && c.w.afs ? (nameOf(c.w.afs, t.viceid) ?? null) : null;
  const admin = user !== null && c.w.afs !== null && groupsOf(c.w.afs, user).includes('system:administrators');
  return { user, admin };
}

/** The databases as this guest reaches them. */
function databases(c: Ctx, tool: string): SimAfsCell | string {
  const dbs = cellDbservers(c.w);
  if (!c.w.afs || !dbs.some((g) => dbUp(c.w, g) && reachable(c.w, c.guest, g))) {
    return `${tool}: could not contact a database server of ${c.cell} (${describeQuorum(quorum(c.w, dbs))})`;
  }
  return c.w.afs;
}

function run(c: Ctx, tool: string, fn: (cell: SimAfsCell) => number): number {
  if (!hasAfsTools(c)) return notFound(c, tool);
  const cell = databases(c, tool);
  if (typeof cell === 'string') {
    c.err(cell);
    return 1;
  }
  try {
    return fn(cell);
  } catch (e) {
    c.err((e as Error).message);
    return 1;
  }
}

const PTS: Record<string, Record<string, 'flag' | 'value' | 'multi'>> = {
  examine: { nameorid: 'multi', localauth: 'flag' }, membership: { nameorid: 'multi', localauth: 'flag' },
  listentries: { users: 'flag', groups: 'flag', localauth: 'flag' }, listowned: { nameorid: 'multi', localauth: 'flag' },
  adduser: { user: 'multi', group: 'multi', localauth: 'flag' }, removeuser: { user: 'multi', group: 'multi', localauth: 'flag' },
};
const PTS_ALIASES: Record<string, string> = { ex: 'examine', mem: 'membership', groups: 'membership', le: 'listentries', lo: 'listowned' };
const POSITIONAL: Record<string, string[]> = { examine: ['nameorid'], membership: ['nameorid'], listowned: ['nameorid'], adduser: ['user', 'group'], removeuser: ['user', 'group'], listentries: [] };

export const ptsCmd: Cmd = (c, args) => run(c, 'pts', (cell) => {
  const sub = PTS_ALIASES[args[0] ?? ''] ?? args[0] ?? '';
  const spec = PTS[sub];
  if (!spec) {
    c.err(`pts: Unrecognized operation '${args[0] ?? ''}'; type 'pts help' for list (this shell has ${Object.keys(PTS).join(', ')})`);
    return 1;
  }
  const p = afsArgs(args.slice(1), spec, POSITIONAL[sub]!);
  if (!p.ok) {
    c.err(`pts: ${p.error}`);
    return 1;
  }
  const who = caller(c, p.o.localauth === true, 'pts');
  if (typeof who === 'string') {
    c.err(who);
    return 1;
  }
  const list = (k: string) => (p.o[k] as string[] | undefined) ?? [];
  const entry = (n: string) => own(cell.prdb.entries, n) ?? (/^-?\d+$/.test(n) ? own(cell.prdb.entries, nameOf(cell, Number(n)) ?? '') : undefined);
  const name = (n: string) => (own(cell.prdb.entries, n) ? n : (nameOf(cell, Number(n)) ?? n));
  let status = 0;
  const missing = (n: string) => {
    c.err(`pts: User or group doesn't exist so couldn't look up id for ${n}`);
    status = 1;
  };
  switch (sub) {
    case 'examine':
      for (const n of list('nameorid')) {
        const e = entry(n);
        if (!e) missing(n);
        else c.out(`Name: ${name(n)}, id: ${e.id}, owner: ${e.owner ?? 'system:administrators'}, creator: system:administrators,\n  membership: ${e.kind === 'group' ? e.members.length : groupsOf(cell, name(n)).length}, flags: ${e.kind === 'group' ? 'S-M--' : 'S----'}, group quota: ${e.kind === 'group' ? 0 : 20}.`);
      }
      return status;
    case 'membership':
      for (const n of list('nameorid')) {
        const e = entry(n);
        if (!e) missing(n);
        else if (e.kind === 'user' && !who.admin && who.user !== name(n)) {
          c.err(`pts: Permission denied ; unable to get membership of ${name(n)} (id: ${e.id})`);
          status = 1;
        } else if (e.kind === 'group') c.out([`Members of ${name(n)} (id: ${e.id}) are:`, ...e.members.map((m) => `  ${m}`)].join('\n'));
        else c.out([`Groups ${name(n)} (id: ${e.id}) is a member of:`, ...groupsOf(cell, name(n)).map((g) => `  ${g}`)].join('\n'));
      }
      return status;
    case 'listentries': {
      if (!who.admin) {
        c.err('pts: Permission denied ; unable to list entries');
        return 1;
      }
      const kinds = p.o.groups === true ? ['group'] : p.o.users === true || p.o.groups === undefined ? ['user', ...(p.o.groups ? ['group'] : [])] : [];
      const rows = Object.entries(cell.prdb.entries).filter(([, e]) => kinds.includes(e.kind)).sort(([, a], [, b]) => a.id - b.id);
      c.out(['Name                          ID  Owner Creator', ...rows.map(([n, e]) => `${n.padEnd(24)} ${String(e.id).padStart(7)} ${String(e.owner ? (own(cell.prdb.entries, e.owner)?.id ?? -204) : -204).padStart(6)}    -204`)].join('\n'));
      return 0;
    }
    case 'listowned':
      for (const n of list('nameorid')) {
        const e = entry(n);
        if (!e) missing(n);
        else c.out([`Groups owned by ${name(n)} (id: ${e.id}) are:`, ...Object.entries(cell.prdb.entries).filter(([, g]) => g.kind === 'group' && g.owner === name(n)).map(([g]) => `  ${g}`)].join('\n'));
      }
      return status;
    default: {
      // adduser / removeuser: the group's owner or an administrator
      const add = sub === 'adduser';
      for (const g of list('group')) {
        const ge = own(cell.prdb.entries, g);
        if (ge?.kind !== 'group') {
          missing(g);
          continue;
        }
        if (!who.admin && who.user !== (ge.owner ?? 'system:administrators')) {
          c.err(`pts: Permission denied ; unable to ${add ? 'add' : 'remove'} user ${list('user').join(' ')} ${add ? 'to' : 'from'} group ${g}`);
          status = 1;
          continue;
        }
        for (const u of list('user')) {
          if (own(cell.prdb.entries, u)?.kind !== 'user') missing(u);
          else if (add && ge.members.includes(u)) {
            c.err(`pts: Entry for id already exists ; unable to add user ${u} to group ${g}`);
            status = 1;
          } else ge.members = add ? [...ge.members, u] : ge.members.filter((m) => m !== u);
        }
      }
      return status;
    }
  }
});

const host = (c: Ctx, g: string) => `${g}.${c.cell}`;

/** A server named by guest name, host name or address. */
function server(c: Ctx, name: string): string | undefined {
  return Object.keys(c.w.fileservers).find((g) => g === name || host(c, g) === name || guestIp(c.w, g) === name);
}

function sitesLines(c: Ctx, e: SimVldbEntry): string[] {
  const sites = e.sites ?? [];
  return [
    `    RWrite: ${e.volid}${sites.length ? `     ROnly: ${e.volid + 1}` : ''}${e.backup ? `     Backup: ${e.volid + 2}` : ''} `,
    `    number of sites -> ${1 + sites.length}`,
    `       server ${host(c, e.server)} partition ${e.partition} RW Site `,
    ...sites.map((s) => `       server ${host(c, s.server)} partition ${s.partition} RO Site ${s.released ? '' : ' -- Not released'}`),
  ];
}

function volLine(v: SimVolume, withName = true): string {
  const name = v.name + (v.type === 'ro' ? '.readonly' : v.type === 'bk' ? '.backup' : '');
  return `${withName ? name.padEnd(33) : ''} ${String(v.volid).padStart(10)} ${v.type.toUpperCase().padEnd(2)} ${String(usageKb(v)).padStart(10)} K On-line`;
}

const VOS: Record<string, Record<string, 'flag' | 'value' | 'multi'>> = {
  listvldb: { name: 'value', server: 'value', localauth: 'flag', noauth: 'flag' }, examine: { id: 'value', localauth: 'flag', noauth: 'flag' },
  listvol: { server: 'value', partition: 'value', localauth: 'flag', noauth: 'flag' }, listpart: { server: 'value', localauth: 'flag', noauth: 'flag' },
  release: { id: 'value', localauth: 'flag', force: 'flag' }, backup: { id: 'value', localauth: 'flag' },
};
const VOS_POS: Record<string, string[]> = { listvldb: [], examine: ['id'], listvol: ['server', 'partition'], listpart: ['server'], release: ['id'], backup: ['id'] };

export const vosCmd: Cmd = (c, args) => run(c, 'vos', (cell) => {
  const sub = args[0] ?? '';
  const spec = VOS[sub];
  if (!spec) {
    c.err(`vos: Unrecognized operation '${sub}'; type 'vos help' for list (this shell has ${Object.keys(VOS).join(', ')})`);
    return 1;
  }
  const p = afsArgs(args.slice(1), spec, VOS_POS[sub]!);
  if (!p.ok) {
    c.err(`vos: ${p.error}`);
    return 1;
  }
  const o = p.o as Record<string, string | undefined>;
  const entries = Object.entries(cell.vldb.entries).sort(([a], [b]) => (a < b ? -1 : 1));
  const byName = (id: string) => {
    const base = id.replace(/\.(readonly|backup)$/, '');
    return own(cell.vldb.entries, base) ?? Object.values(cell.vldb.entries).find((e) => [e.volid, e.volid + 1, e.volid + 2].includes(Number(id)));
  };
  switch (sub) {
    case 'listvldb': {
      const shown = entries.filter(([n, e]) => (!o.name || n === o.name) && (!o.server || server(c, o.server) === e.server || (e.sites ?? []).some((s) => s.server === server(c, o.server!))));
      if (o.name && !shown.length) {
        c.err(`VLDB: no such entry`);
        return 1;
      }
      c.out([...(o.name ? [] : ['VLDB entries for all servers ', '']), ...shown.flatMap(([n, e]) => [n, ...sitesLines(c, e), '']), ...(o.name ? [] : [`Total entries: ${shown.length}`])].join('\n'));
      return 0;
    }
    case 'examine': {
      const e = o.id ? byName(o.id) : undefined;
      const name = e ? Object.entries(cell.vldb.entries).find(([, x]) => x === e)![0] : undefined;
      const type = o.id?.endsWith('.readonly') || Number(o.id) === (e?.volid ?? 0) + 1 ? 'ro' : o.id?.endsWith('.backup') || Number(o.id) === (e?.volid ?? 0) + 2 ? 'bk' : 'rw';
      const site = type === 'ro' ? e?.sites?.find((s) => s.released) : e;
      const v = e && site ? own(own(c.w.fileservers, site.server)?.attached ?? {}, site.partition)?.[String(idOf(e, type))] : undefined;
      if (!e || !v) {
        c.err(`vos: ${!e ? 'no such entry' : `volume ${o.id} does not exist`} (VLDB: ${e ? 'the clone has not been made' : 'no such entry'})`);
        return 1;
      }
      c.out([volLine(v), `    ${host(c, site!.server)} ${site!.partition} `, `    RWrite ${String(e.volid).padStart(10)} ROnly ${String(e.sites?.length ? e.volid + 1 : 0).padStart(10)} Backup ${String(e.backup ? e.volid + 2 : 0).padStart(10)} `,
        `    MaxQuota ${String(v.maxquota).padStart(10)} K `, '', name!, ...sitesLines(c, e)].join('\n'));
      return 0;
    }
    case 'listvol':
    case 'listpart': {
      const g = o.server ? server(c, o.server) : undefined;
      const fs = g ? own(c.w.fileservers, g) : undefined;
      if (!fs || !reachable(c.w, c.guest, g!)) {
        c.err(`vos: server '${o.server ?? ''}' not found in host table${g ? ' (its volserver does not answer)' : ''}`);
        return 1;
      }
      const parts = Object.keys(fs.attached).filter((x) => !o.partition || x === o.partition || x === `/vicep${o.partition}`).sort();
      if (sub === 'listpart') {
        c.out(['The partitions on the server are:', `    ${parts.join('     ')} `, `Total: ${parts.length}`].join('\n'));
        return 0;
      }
      for (const part of parts) {
        const vols = Object.values(fs.attached[part]!).sort((a, b) => (a.name + a.type < b.name + b.type ? -1 : 1));
        c.out([`Total number of volumes on server ${host(c, g!)} partition ${part}: ${vols.length} `, ...vols.map((v) => volLine(v)), '',
          `Total volumes onLine ${vols.length} ; Total volumes offLine 0 ; Total busy 0`, ''].join('\n'));
      }
      return 0;
    }
    default: {
      const who = caller(c, o.localauth !== undefined, 'vos');
      if (typeof who === 'string' || !who.admin) {
        c.err(typeof who === 'string' ? who : `vos: Could not lock VLDB entry for the volume ${o.id}\nVLDB: no permission access for call`);
        return 1;
      }
      if (!o.id || !byName(o.id)) {
        c.err(`VLDB: no such entry`);
        return 1;
      }
      if (sub === 'release') {
        const r = release(c.w, o.id);
        c.out(`Released volume ${o.id} successfully (to ${r.released.join(', ')})`);
      } else {
        const r = backup(c.w, o.id);
        c.out(`Created backup volume for ${o.id} (${String(r.bkid)})`);
      }
      return 0;
    }
  }
});
