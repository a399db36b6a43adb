// The checks of cell file v2, derived from the plan's resources: who may write where by the declared
// ACLs and groups, which path reaches which volume instance by the mount point traversal rules,
// which volume a quota can be probed in. Each check names what it proves.
import { cellPath, cpsOf, effectiveRights, foreignRealm, mountTarget } from '../config/afs.js';
import type { Check } from '../drivers/driver.js';
import { addr } from '../plan/addrs.js';
import type { AclAttrs, MountAttrs, PtsUserAttrs, Resource, ResourceOf, ResourceType } from '../plan/resources.js';

export interface Derived { check: Check; resources: string[]; needs: string[] }

/** A quota probed by a real write of one block more: up to 1 GiB (the real drivers write it). */
const MAX_PROBED_QUOTA_KB = 1024 * 1024;

/** What the cell's resources say about AFS, for deriving checks. */
export class AfsView {
  readonly users: PtsUserAttrs[];
  readonly groups: Map<string, string[]>;
  readonly mounts: MountAttrs[];
  readonly acls: AclAttrs[];
  readonly replicated: Set<string>;
  readonly volumes: Set<string>;

  constructor(readonly cell: string, resources: Resource[]) {
    const of = <T extends ResourceType>(type: T) => resources.filter((r): r is Resource & ResourceOf<T> => r.type === type).map((r) => r.attrs);
    this.users = of('pts-user');
    this.groups = new Map(of('pts-group').map((g) => [g.group, g.members]));
    this.groups.set('system:administrators', this.users.filter((u) => u.admin).map((u) => u.user));
    this.mounts = of('mount');
    this.acls = of('acl');
    this.replicated = new Set(of('release').map((r) => r.volume));
    this.volumes = new Set(of('volume').map((v) => v.volume));
  }

  /** A volume root's ACL: declared, or what vos create gives (system:administrators all). */
  aclOf(volume: string): { normal: Record<string, string>; negative: Record<string, string> } {
    return this.acls.find((a) => a.volume === volume) ?? { normal: { 'system:administrators': 'rlidwka' }, negative: {} };
  }

  rights(user: string, volume: string): string {
    const groups = [...this.groups].filter(([, m]) => m.includes(user)).map(([g]) => g);
    return effectiveRights(this.aclOf(volume), cpsOf(user, groups, (g) => this.groups.has(g)), groups.includes('system:administrators'));
  }

  /** Users with a principal that may (or may not) create files in a volume's root. */
  writers(volume: string, may: boolean): PtsUserAttrs[] {
    return this.users.filter((u) => {
      const r = this.rights(u.user, volume);
      return (r.includes('l') && r.includes('i')) === may;
    });
  }

  /** The volume instance a path reaches by rules 1-3 (root.afs first, its RO when replicated); undefined off the cell. */
  reaches(path: string): string | undefined {
    const where = cellPath(path, this.cell);
    if (!where) return undefined;
    const rootAfsRo = !this.volumes.has('root.afs') || this.replicated.has('root.afs');
    let cur = !where.rw && rootAfsRo && this.replicated.has('root.cell') ? 'root.cell.readonly' : 'root.cell';
    let rel = '';
    for (const part of where.rel.split('/').filter(Boolean)) {
      rel += `/${part}`;
      const m = this.mounts.find((x) => cellPath(x.path, this.cell)?.rel === rel);
      if (!m) return undefined;
      const t = mountTarget(m.volume);
      const fromRo = cur.endsWith('.readonly');
      cur = t.clone ? m.volume : !m.rw && fromRo && this.replicated.has(t.base) ? `${t.base}.readonly` : t.base;
    }
    return cur;
  }

  /** A path to a volume's root: through /afs/.<cell> (the RW), or the regular path (its RO, if it is one). */
  pathTo(volume: string, ro: boolean): string | undefined {
    const base = `/afs/${ro ? '' : '.'}${this.cell}`;
    if (volume === 'root.cell') return this.reaches(base) === (ro ? 'root.cell.readonly' : 'root.cell') ? base : undefined;
    for (const m of this.mounts) {
      const rel = cellPath(m.path, this.cell)?.rel;
      if (mountTarget(m.volume).base !== volume || mountTarget(m.volume).clone || rel === undefined) continue;
      const p = `${base}${rel}`;
      if (this.reaches(p) === (ro ? `${volume}.readonly` : volume)) return p;
    }
    return undefined;
  }
}

/** The v2 checks from `guest`, a client of the cell; `base`: the checks they need first on it. */
export function accessChecks(v: AfsView, resources: Resource[], guest: string, realm: string, base: { token: string; resolves: string }): Derived[] {
  const out: Derived[] = [];
  const client = addr.afsClient(guest);
  const user = (u: PtsUserAttrs) => addr.ptsName(u.user);
  const principalAddr = (u: PtsUserAttrs) => addr.principal(u.principal);
  const needs = [base.token, base.resolves];

  for (const a of v.acls) {
    const path = v.pathTo(a.volume, false);
    if (!path) continue;
    const refusedByNegative = v.writers(a.volume, false).filter((u) => Object.hasOwn(a.negative, u.user));
    const refused = refusedByNegative[0] ?? v.writers(a.volume, false)[0];
    const allowed = v.writers(a.volume, true).find((u) => !u.admin) ?? v.writers(a.volume, true)[0];
    if (!allowed || !refused) continue;
    out.push({
      check: {
        id: `acl-write.${a.path}`, kind: 'acl-write', guest,
        name: `the ACL of ${a.path} lets ${allowed.user} write and refuses ${refused.user}${refusedByNegative.length ? ' (a negative entry)' : ''}`,
        params: { path, allowed: allowed.principal, refused: refused.principal },
      },
      resources: [addr.acl(a.path), client, user(allowed), user(refused), principalAddr(allowed), principalAddr(refused)], needs,
    });
  }

  for (const r of resources) {
    if (r.type !== 'quota' || r.attrs.max_kb <= 0 || r.attrs.max_kb > MAX_PROBED_QUOTA_KB) continue;
    const path = v.pathTo(r.attrs.volume, false);
    const writer = v.writers(r.attrs.volume, true).find((u) => /w/.test(v.rights(u.user, r.attrs.volume)));
    if (!path || !writer) continue;
    out.push({
      check: {
        id: `quota-exceeded.${r.attrs.volume}`, kind: 'quota-exceeded', guest,
        name: `a write over ${r.attrs.volume}'s ${r.attrs.max_kb} KB quota is refused (EDQUOT) and one within it is not`,
        params: { path, volume: r.attrs.volume, quota_kb: r.attrs.max_kb, principal: writer.principal },
      },
      resources: [r.address, client, user(writer), principalAddr(writer)], needs,
    });
  }

  for (const r of resources) {
    if (r.type !== 'release') continue;
    const rw = v.pathTo(r.attrs.volume, false);
    const ro = v.pathTo(r.attrs.volume, true);
    const admin = v.writers(r.attrs.volume, true).find((u) => u.admin) ?? v.writers(r.attrs.volume, true)[0];
    if (!rw || !ro || !admin) continue;
    out.push({
      check: {
        id: `ro-release.${r.attrs.volume}`, kind: 'ro-release', guest,
        name: `${ro} serves ${r.attrs.volume}'s released content, read-only, and not later writes until the next vos release`,
        params: { volume: r.attrs.volume, rw_path: rw, ro_path: ro, principal: admin.principal },
      },
      resources: [r.address, client, user(admin)], needs,
    });
  }

  for (const m of v.mounts) {
    const want = v.reaches(m.path);
    if (!want) continue;
    out.push({
      check: { id: `mount-point.${m.path}`, kind: 'mount-point', guest, name: `${m.path} is a mount point that reaches ${want}`, params: { path: m.path, volume: want } },
      resources: [addr.mount(m.path), client], needs: [base.resolves],
    });
  }

  for (const u of v.users) {
    const other = foreignRealm(u.user);
    if (!other) continue;
    const trust = [addr.crossRealm(other, realm), addr.principal(u.principal), user(u), client];
    out.push({
      check: {
        id: `cross-realm-token.${u.principal}`, kind: 'cross-realm-token', guest,
        name: `${u.principal} gets a token for ${v.cell} through krbtgt/${realm}@${other}, with ${u.user}'s AFS id`,
        params: { principal: u.principal, user: u.user },
      },
      resources: trust, needs: [base.resolves],
    });
  }
  return out;
}
