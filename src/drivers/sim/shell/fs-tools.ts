// fs and the file commands (ls, cat, echo ... > file, mkdir, rm) in the sim's shell: through the
// client's cache manager, with the shell's token, as OpenAFS's fs and a POSIX shell print them.
import { parseRights, RIGHTS_ORDER } from '../../../config/afs.js';
import { afsDir, afsList, afsMkdir, afsRead, afsRemove, afsResolve, afsWrite, liveClient } from '../files.js';
import { usageKb } from '../volumes.js';
import { own } from '../world.js';
import { afsArgs, hasAfsTools, tokenPrincipal, type Cmd, type Ctx } from './context.js';
import { notFound } from './krb.js';

const FS: Record<string, Record<string, 'flag' | 'value' | 'multi'>> = {
  listacl: { path: 'multi' }, setacl: { dir: 'multi', acl: 'multi', clear: 'flag', negative: 'flag' },
  listquota: { path: 'multi' }, setquota: { path: 'value', max: 'value' }, lsmount: { dir: 'multi' },
  whereis: { path: 'multi' }, examine: { path: 'multi' },
};
const FS_ALIASES: Record<string, string> = { la: 'listacl', sa: 'setacl', lq: 'listquota', sq: 'setquota', exa: 'examine' };
const FS_POS: Record<string, string[]> = { listacl: ['path'], setacl: ['dir', 'acl'], listquota: ['path'], setquota: ['path', 'max'], lsmount: ['dir'], whereis: ['path'], examine: ['path'] };

const who = (c: Ctx) => tokenPrincipal(c);

export const fsCmd: Cmd = (c, args) => {
  if (!hasAfsTools(c)) return notFound(c, 'fs');
  const sub = FS_ALIASES[args[0] ?? ''] ?? args[0] ?? '';
  const spec = FS[sub];
  if (!spec) {
    c.err(`fs: Unrecognized operation '${args[0] ?? ''}'; type 'fs help' for list (this shell has ${Object.keys(FS).join(', ')})`);
    return 1;
  }
  const p = afsArgs(args.slice(1), spec, FS_POS[sub]!);
  if (!p.ok) {
    c.err(`fs: ${p.error}`);
    return 1;
  }
  const paths = (k: string) => {
    const v = p.o[k];
    return Array.isArray(v) ? v : typeof v === 'string' ? [v] : ['.'];
  };
  let status = 0;
  const fail = (m: string): number => {
    c.err(`fs: ${m}`);
    status = 1;
    return 1;
  };
  switch (sub) {
    case 'listacl':
      for (const path of paths('path')) {
        const d = afsDir(c.w, c.guest, path, who(c));
        if (!d.ok) { fail(d.error); continue; }
        if (!d.value.rights.includes('l') && !d.value.rights.includes('a')) { fail(`You don't have the required access rights on '${path}'`); continue; }
        const { vol, } = d.value.at;
        const show = (m: Record<string, string>) => Object.entries(m).map(([n, r]) => `  ${n} ${r}`);
        const neg = own(vol.negative, d.value.dir) ?? {};
        c.out([`Access list for ${path} is`, 'Normal rights:', ...show(vol.acls[d.value.dir] ?? {}), ...(Object.keys(neg).length ? ['Negative rights:', ...show(neg)] : [])].join('\n'));
      }
      return status;
    case 'setacl': {
      const acl = paths('acl');
      if (acl.length % 2) return fail('setacl: an access list entry is a name and its rights');
      for (const path of paths('dir')) {
        const d = afsDir(c.w, c.guest, path, who(c));
        if (!d.ok) { fail(d.error); continue; }
        const { vol } = d.value.at;
        if (vol.type !== 'rw') { fail(`You can not change a backup or readonly volume (${path})`); continue; }
        if (!d.value.rights.includes('a')) { fail(`You don't have the required access rights on '${path}'`); continue; }
        const table = p.o.negative ? vol.negative : vol.acls;
        if (p.o.clear) { vol.acls[d.value.dir] = {}; vol.negative[d.value.dir] = {}; }
        const entries = { ...(table[d.value.dir] ?? {}) };
        for (let i = 0; i < acl.length; i += 2) {
          const [name, text] = [acl[i]!, acl[i + 1]!];
          if (text === 'none') { delete entries[name]; continue; }
          const body = text.replace(/^-/, '');
          if (!['all', 'read', 'write'].includes(body) && ![...body].every((x) => RIGHTS_ORDER.includes(x))) { fail(`illegal rights character in '${text}'`); continue; }
          if (!own(c.w.afs?.prdb.entries ?? {}, name)) { fail(`User or group doesn't exist ; unable to change access list for ${path}`); continue; }
          const r = parseRights(body);
          entries[name] = r.rights;
        }
        if (Object.keys(entries).length + Object.keys((p.o.negative ? vol.acls : vol.negative)[d.value.dir] ?? {}).length > 20) { fail(`Invalid argument; it is possible that ${path} has too many ACL entries (20 is the most)`); continue; }
        table[d.value.dir] = entries;
      }
      return status;
    }
    case 'listquota':
      c.out('Volume Name                    Quota       Used %Used'); // no Partition column: the sim's partitions have no size
      for (const path of paths('path')) {
        const d = afsDir(c.w, c.guest, path, who(c));
        if (!d.ok) { fail(d.error); continue; }
        const v = d.value.at.vol;
        const used = usageKb(v);
        const name = v.name + (v.type === 'ro' ? '.readonly' : v.type === 'bk' ? '.backup' : '');
        const pct = v.maxquota ? `${Math.round((100 * used) / v.maxquota)}%` : '0%';
        c.out(`${name.padEnd(24)} ${(v.maxquota ? String(v.maxquota) : 'no limit').padStart(10)} ${String(used).padStart(10)} ${pct.padStart(5)}`);
      }
      return status;
    case 'setquota': {
      const path = String(p.o.path ?? '.');
      const max = Number(p.o.max);
      const d = afsDir(c.w, c.guest, path, who(c));
      if (!d.ok) return fail(d.error);
      const admins = c.w.afs ? own(c.w.afs.prdb.entries, 'system:administrators')?.members ?? [] : [];
      if (!d.value.user || !admins.includes(d.value.user)) return fail(`You don't have the required access rights on '${path}'`);
      if (!Number.isInteger(max) || max < 0) return fail(`bad integer specified for quota: '${String(p.o.max)}'`);
      if (d.value.at.vol.type !== 'rw') return fail(`You can not change a backup or readonly volume`);
      d.value.at.vol.maxquota = max;
      return 0;
    }
    case 'lsmount':
      for (const path of paths('dir')) {
        const r = afsResolve(c.w, c.guest, path);
        if (!r.ok) { fail(r.error); continue; }
        if (!r.value.mount) { fail(`'${path}' is not a mount point.`); continue; }
        c.out(`'${path}' is a mount point for volume '${r.value.mount.rw ? '%' : '#'}${r.value.mount.volume}'`);
      }
      return status;
    case 'whereis':
      for (const path of paths('path')) {
        const r = afsResolve(c.w, c.guest, path);
        if (!r.ok) { fail(r.error); continue; }
        c.out(`File ${path} is on host ${r.value.server}.${c.cell} `);
      }
      return status;
    default:
      for (const path of paths('path')) {
        const d = afsDir(c.w, c.guest, path, who(c));
        if (!d.ok) { fail(d.error); continue; }
        const v = d.value.at.vol;
        c.out([`File ${path} (${v.volid}.1.1) contained in volume ${v.volid}`, `Volume status for vid = ${v.volid} named ${v.name}${v.type === 'ro' ? '.readonly' : v.type === 'bk' ? '.backup' : ''}`,
          `Current disk quota is ${v.maxquota || 'unlimited'}`, `Current blocks used are ${usageKb(v)}`].join('\n'));
      }
      return status;
  }
};

/** A path outside /afs: the sim has no files there. */
const local = (c: Ctx, tool: string, path: string): number => {
  c.err(`${tool}: ${path}: No such file or directory (the simulator's guests have files only under /afs)`);
  return 1;
};

export const lsCmd: Cmd = (c, args) => {
  const paths = args.filter((a) => !a.startsWith('-'));
  let status = 0;
  for (const path of paths.length ? paths : ['/afs']) {
    if (!path.startsWith('/afs')) { status = local(c, 'ls', path); continue; }
    if (!liveClient(c.w, c.guest).ok) { status = local(c, 'ls', path); continue; }
    const r = afsList(c.w, c.guest, path, who(c));
    if (r.ok) c.out(r.value.join('\n'));
    else {
      // ls FILE prints the name
      const f = afsRead(c.w, c.guest, path, who(c));
      if (f.ok) c.out(path);
      else { c.err(r.error.startsWith('ls:') ? r.error : `ls: ${r.error}`); status = 1; }
    }
  }
  return status;
};

export const catCmd: Cmd = (c, args) => {
  if (!args.length) {
    c.out(c.stdin.replace(/\n$/, ''));
    return 0;
  }
  let status = 0;
  for (const path of args) {
    if (!path.startsWith('/afs') || !liveClient(c.w, c.guest).ok) { status = local(c, 'cat', path); continue; }
    const r = afsRead(c.w, c.guest, path, who(c));
    if (r.ok) c.out(r.value.replace(/\n$/, ''));
    else { c.err(`cat: ${r.error}`); status = 1; }
  }
  return status;
};

/** Where `> FILE` and `>> FILE` put a command's output: a store through the cache manager. */
export function writeFile(c: Ctx, path: string, data: string, append: boolean): number {
  if (!path.startsWith('/afs') || !liveClient(c.w, c.guest).ok) return local(c, 'sh', path);
  const r = afsWrite(c.w, c.guest, path, data, who(c), append);
  if (r.ok) return 0;
  c.err(`sh: cannot create ${r.error}`);
  return 1;
}

export const mkdirCmd: Cmd = (c, args) => {
  let status = 0;
  for (const path of args.filter((a) => !a.startsWith('-'))) {
    if (!path.startsWith('/afs')) { status = local(c, 'mkdir', path); continue; }
    const r = afsMkdir(c.w, c.guest, path, who(c));
    if (!r.ok) { c.err(r.error.startsWith('mkdir') ? r.error : `mkdir: ${r.error}`); status = 1; }
  }
  return status;
};

export const rmCmd: Cmd = (c, args) => {
  let status = 0;
  for (const path of args.filter((a) => !a.startsWith('-'))) {
    if (!path.startsWith('/afs')) { status = local(c, 'rm', path); continue; }
    const r = afsRemove(c.w, c.guest, path, who(c));
    if (!r.ok && !(args.includes('-f') && r.error.endsWith('No such file or directory'))) { c.err(r.error); status = 1; }
  }
  return status;
};
