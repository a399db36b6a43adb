// The cell's services in real guests, whichever runner boots them (the qemu driver's QEMU, libvirt's
// domains): KDC, principals, keys, AFS servers, /vicepX partitions and the cell's entries, through the
// service layer. Each driver keeps its own guests, modules and clients; these resources are the same.
import type { Catalog } from '../../catalog/types.js';
import type { Masker } from '../../render/mask.js';
import type { Json, Resource } from '../../plan/resources.js';
import type { AppliedResource } from '../driver.js';
import { masterPassword, principalPassword, type SecretStore } from '../../state/secrets.js';
import { addSite, backup, createPtsGroup, deletePtsGroup, moveVolume, release, removeBackup, removeSite, setQuota } from '../services/afs-admin.js';
import { createAfsDb, createPtsUser, deleteAfsDb, deletePtsUser } from '../services/afs-db.js';
import { createAfsFs, createPartition as servePartition, createVolume, deleteAfsFs, deleteVolume, forgetPartition } from '../services/afs-fs.js';
import { unstickService } from '../services/health.js';
import { createKdc, createPrincipal, createServiceKey, deleteKdc, deletePrincipal, deleteServiceKey } from '../services/kerberos.js';
import type { Services } from '../services/placement.js';
import { createPartition, deletePartition, type PlugTarget } from './partitions.js';
import type { Places } from './world.js';

export interface GuestServices {
  P: Places;
  x: Services;
  catalog: Catalog;
  secrets: SecretStore;
  masker: Masker;
  /** A running guest's agent and disk plug (throws when it does not run). */
  target(guest: string): PlugTarget;
  /** The same, or undefined when the guest does not run (deletes go on without it). */
  targetIfUp(guest: string): PlugTarget | undefined;
}

/** A principal's password from the secret store, masked from then on. */
export function passwordOf(secrets: SecretStore, masker: Masker): (principal: string) => string {
  return (principal) => {
    const v = principalPassword(secrets, principal);
    masker.add(v);
    return v;
  };
}

/** Creates (converging on what exists) a service-side resource; undefined when `res` is the driver's own (host, guest, module, client). */
export async function createServiceResource(s: GuestServices, res: Resource): Promise<Record<string, Json> | undefined> {
  const { x } = s;
  const withStandIn = (out: Record<string, Json>, software: string) => {
    const si = s.catalog.software.get(software)?.debian_stand_in;
    return si ? { ...out, stand_in: si } : out;
  };
  switch (res.type) {
    case 'partition': {
      const out = await createPartition(s.P, s.target(res.attrs.guest), res.name, res.attrs);
      // the fileserver's side: dafs restarted if it does not list the partition yet
      if (x.reg.bos[res.attrs.guest]) await servePartition(x, x.place(res.attrs.guest), res.attrs.path);
      return out;
    }
    case 'kdc': {
      const m = masterPassword(s.secrets);
      s.masker.add(m);
      return createKdc(x, s.catalog, res.attrs, m);
    }
    case 'principal':
      return createPrincipal(x, res.attrs, passwordOf(s.secrets, s.masker)(res.attrs.principal));
    case 'service-key':
      return createServiceKey(x, res.attrs);
    case 'afs-db':
      return withStandIn(await createAfsDb(x, res.attrs), res.attrs.software);
    case 'afs-fs':
      return withStandIn(await createAfsFs(x, res.attrs), res.attrs.software);
    case 'volume':
      return createVolume(x, res.attrs);
    case 'pts-user':
      return createPtsUser(x, res.attrs);
    case 'pts-group':
      return createPtsGroup(x, res.attrs);
    case 'quota':
      return setQuota(x, res.attrs);
    case 'ro-site':
      return addSite(x, res.attrs);
    case 'release':
      return release(x, res.attrs);
    case 'backup':
      return backup(x, res.attrs);
    default:
      return undefined;
  }
}

/** What an update does before it converges like a create: a stuck daemon restarted, a volume moved with vos move. */
export async function prepareServiceUpdate(x: Services, prior: AppliedResource, res: Resource): Promise<void> {
  if (res.type === 'kdc' || res.type === 'afs-db' || res.type === 'afs-fs') await unstickService(x, res);
  if (res.type === 'volume' && prior.type === 'volume' && (prior.attrs.server !== res.attrs.server || prior.attrs.partition !== res.attrs.partition)) {
    await moveVolume(x, prior.attrs, res.attrs);
  }
}

/** Deletes a service-side resource; false when `prior` is the driver's own. */
export async function deleteServiceResource(s: GuestServices, prior: AppliedResource): Promise<boolean> {
  const { x } = s;
  switch (prior.type) {
    case 'partition':
      await deletePartition(s.P, s.targetIfUp(prior.attrs.guest), prior.name);
      await forgetPartition(x, prior.attrs.guest, prior.attrs.path);
      return true;
    case 'kdc': await deleteKdc(x, prior.attrs.guest); return true;
    case 'principal': await deletePrincipal(x, prior.attrs.principal); return true;
    case 'service-key': await deleteServiceKey(x, prior.attrs.principal); return true;
    case 'afs-db': await deleteAfsDb(x, prior.attrs.guest); return true;
    case 'afs-fs': await deleteAfsFs(x, prior.attrs.guest); return true;
    case 'volume': await deleteVolume(x, prior.attrs); return true;
    case 'pts-user': await deletePtsUser(x, prior.attrs); return true;
    case 'pts-group': await deletePtsGroup(x, prior.attrs); return true;
    case 'quota': await setQuota(x, prior.attrs, 0).catch(() => undefined); return true; // its volume may be gone first
    case 'ro-site': await removeSite(x, prior.attrs); return true;
    case 'release': return true; // the clones go with their sites
    case 'backup': await removeBackup(x, prior.attrs); return true;
    default:
      return false;
  }
}
