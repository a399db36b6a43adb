// The service layer's resources (KDCs, principals, keys, AFS db and file servers, volumes, pts
// entries, the v2 admin entries) as every driver with real Linux guests realizes them: the same
// calls into services/*.ts over the driver's placements, passwords from the secret store (masked
// from then on), errors leaving masked.
import type { Masker } from '../../render/mask.js';
import type { AfsBuild, Json, Resource } from '../../plan/resources.js';
import { masterPassword, principalPassword } from '../../state/secrets.js';
import type { AppliedResource, CheckResult, DriverContext } from '../driver.js';
import { addSite, backup, createPtsGroup, deletePtsGroup, moveVolume, release, removeBackup, removeSite, setQuota } from '../services/afs-admin.js';
import { createAfsDb, createPtsUser, deleteAfsDb, deletePtsUser } from '../services/afs-db.js';
import { createAfsFs, createVolume, deleteAfsFs, deleteVolume } from '../services/afs-fs.js';
import { unstickService } from '../services/health.js';
import { createKdc, createPrincipal, createServiceKey, deleteKdc, deletePrincipal, deleteServiceKey } from '../services/kerberos.js';
import type { Services } from '../services/placement.js';

export interface ServiceResources {
  /** A principal's password (added to the masker). */
  pw(principal: string): string;
  /** Creates a resource of the service layer; undefined when `res` is not one (the driver's own). */
  create(res: Resource): Promise<Record<string, Json>> | undefined;
  /** Deletes one; undefined when `prior` is not one. */
  delete(prior: AppliedResource): Promise<void> | undefined;
  /** What an update does before converging: a stuck daemon unstuck, a volume moved to its new site. */
  update(prior: AppliedResource, res: Resource): Promise<void>;
}

/** Runs fn; an error leaves with the secrets masked (a password in a command's output never reaches the user). */
export async function masked<T>(masker: Masker, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw masker.error(e);
  }
}

/** A check's result with the secrets masked. */
export function maskedResult(masker: Masker, r: CheckResult): CheckResult {
  return { ...r, message: masker.mask(r.message), ...(r.detail ? { detail: masker.mask(r.detail) } : {}) };
}

export function serviceResources(ctx: Pick<DriverContext, 'secrets' | 'catalog'>, x: Services, masker: Masker): ServiceResources {
  const pw = (principal: string) => {
    const v = principalPassword(ctx.secrets, principal);
    masker.add(v);
    return v;
  };
  const standIn = (software: string) => ctx.catalog.software.get(software)?.debian_stand_in;
  // software.openafs.prefix is the netns driver's: these guests run Debian's OpenAFS and openafs.ko (plan says so).
  const packaged = <T extends AfsBuild>({ prefix: _p, version: _v, ...a }: T) => a;
  const withStandIn = (out: Record<string, Json>, software: string) => {
    const si = standIn(software);
    return si ? { ...out, stand_in: si } : out;
  };
  const create = (res: Resource): Promise<Record<string, Json>> | undefined => {
    switch (res.type) {
      case 'kdc': {
        const m = masterPassword(ctx.secrets);
        masker.add(m);
        return createKdc(x, ctx.catalog, res.attrs, m);
      }
      case 'principal': return createPrincipal(x, res.attrs, pw(res.attrs.principal));
      case 'service-key': return createServiceKey(x, res.attrs);
      case 'afs-db': return createAfsDb(x, packaged(res.attrs)).then((o) => withStandIn(o, res.attrs.software));
      case 'afs-fs': return createAfsFs(x, packaged(res.attrs)).then((o) => withStandIn(o, res.attrs.software));
      case 'volume': return createVolume(x, res.attrs);
      case 'pts-user': return createPtsUser(x, res.attrs);
      case 'pts-group': return createPtsGroup(x, res.attrs);
      case 'quota': return setQuota(x, res.attrs);
      case 'ro-site': return addSite(x, res.attrs);
      case 'release': return release(x, res.attrs);
      case 'backup': return backup(x, res.attrs);
      default: return undefined;
    }
  };
  const del = (prior: AppliedResource): Promise<void> | undefined => {
    switch (prior.type) {
      case 'kdc': return deleteKdc(x, prior.attrs.guest);
      case 'principal': return deletePrincipal(x, prior.attrs.principal);
      case 'service-key': return deleteServiceKey(x, prior.attrs.principal);
      case 'afs-db': return deleteAfsDb(x, prior.attrs.guest);
      case 'afs-fs': return deleteAfsFs(x, prior.attrs.guest);
      case 'volume': return deleteVolume(x, prior.attrs);
      case 'pts-user': return deletePtsUser(x, prior.attrs);
      case 'pts-group': return deletePtsGroup(x, prior.attrs);
      case 'quota': return setQuota(x, prior.attrs, 0).then(() => undefined, () => undefined); // its volume may be gone first
      case 'ro-site': return removeSite(x, prior.attrs);
      case 'release': return Promise.resolve(); // the clones go with their sites
      case 'backup': return removeBackup(x, prior.attrs);
      default: return undefined;
    }
  };
  return {
    pw,
    create: (res) => { const p = create(res); return p && masked(masker, () => p); },
    delete: (prior) => { const p = del(prior); return p && masked(masker, () => p); },
    async update(prior, res) {
      if (res.type === 'kdc' || res.type === 'afs-db' || res.type === 'afs-fs') await masked(masker, () => unstickService(x, res));
      if (res.type === 'volume' && prior.type === 'volume' && (prior.attrs.server !== res.attrs.server || prior.attrs.partition !== res.attrs.partition)) {
        await masked(masker, () => moveVolume(x, prior.attrs, res.attrs));
      }
    },
  };
}
