// export --format client and output: what the applied cell offers to the outside, read from the
// recorded state (and the driver, for keytab keys). Passwords only when asked, from the secret store.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../diagnostics.js';
import type { KeytabKeys } from '../drivers/driver.js';
import { cellServDB, cellView, krb5Conf, type CellView } from '../export/client.js';
import { keytabFile } from '../export/keytab.js';
import type { KeytabAttrs, PrincipalAttrs, VolumeAttrs } from '../plan/resources.js';
import { principalEnvName } from '../state/secrets.js';
import type { CellState } from '../state/types.js';
import type { Session } from './session.js';

function applied(s: Session): CellState {
  const state = s.readState();
  if (!state || Object.keys(state.resources).length === 0) throw new UserError(`cell ${s.spec.cell} is not applied: cellctl apply first`);
  return state;
}

const of = <T>(state: CellState, type: string) => Object.entries(state.resources).filter(([, r]) => r.type === type).map(([a, r]) => ({ address: a, attrs: r.attrs as T }));

/** A keytab file's name for a principal: host/x.example@REALM -> host_x.example@REALM.keytab. */
const keytabName = (principal: string) => `${principal.replaceAll('/', '_')}.keytab`;

/** Writes CellServDB, ThisCell, krb5.conf and one keytab (0600) per service keytab the driver can give; returns the paths. */
export async function exportClientFiles(s: Session, outDir: string): Promise<{ files: string[]; skipped: string[] }> {
  try {
    const state = applied(s);
    const v = cellView(s.spec.cell, s.spec.realm, state.resources);
    if (!v.dbservers.length) throw new UserError(`cell ${s.spec.cell} has no AFS database servers applied: a client would have nothing to talk to`);
    const files: { name: string; data: string | Buffer; mode: number }[] = [
      { name: 'CellServDB', data: cellServDB(v), mode: 0o644 },
      { name: 'ThisCell', data: `${v.cell}\n`, mode: 0o644 },
      { name: 'krb5.conf', data: krb5Conf(v), mode: 0o644 },
    ];
    const skipped: string[] = [];
    const keytabs = of<KeytabAttrs>(state, 'keytab');
    if (keytabs.length) {
      const d = await s.driver(s.driverName(state), state, { readOnly: true });
      for (const k of keytabs) {
        const full = `${k.attrs.principal}@${k.attrs.realm}`;
        const keys: KeytabKeys | undefined = await d.keytab?.(full);
        if (!keys) skipped.push(`${full}: the ${s.driverName(state)} driver has no keys to give for it`);
        else files.push({ name: keytabName(full), data: keytabFile([keys], Math.floor(Date.now() / 1000)), mode: 0o600 });
      }
    }
    mkdirSync(outDir, { recursive: true });
    const written: string[] = [];
    for (const f of files) {
      const path = join(outDir, f.name);
      writeFileSync(path, f.data, { mode: f.mode });
      chmodSync(path, f.mode); // an existing file keeps its mode otherwise
      written.push(path);
    }
    return { files: written, skipped };
  } finally {
    await s.close();
  }
}

export interface CellOutputs {
  cell: string;
  realm: string;
  realms: CellView['realms'];
  trusts: string[];
  dbservers: CellView['dbservers'];
  fileservers: { guest: string; ip: string | null }[];
  clients: { guest: string; ip: string | null; software: string }[];
  addresses: Record<string, string[]>;
  principals: { principal: string; password?: string }[];
  volumes: { name: string; server: string; partition: string }[];
  keytabs: { principal: string; guest: string | null; enctypes: string[] }[];
}

export const OUTPUT_NAMES = ['cell', 'realm', 'realms', 'trusts', 'dbservers', 'fileservers', 'clients', 'addresses', 'principals', 'volumes', 'keytabs'] as const;

/** The applied cell's outputs; `secrets`: each principal's password from the secret store (or its environment variable). */
export async function cellOutputs(s: Session, o: { secrets: boolean }): Promise<CellOutputs> {
  try {
    const state = applied(s);
    const v = cellView(s.spec.cell, s.spec.realm, state.resources);
    const ip = (g: string) => v.ips[g]?.[0] ?? null;
    const store = o.secrets ? s.secrets() : undefined;
    const principals = of<PrincipalAttrs>(state, 'principal').map(({ address, attrs }) => {
      const name = address.slice('principal.'.length);
      const password = store ? (process.env[principalEnvName(name)] ?? store.peek(`principal:${name}`)) : undefined;
      return { principal: `${attrs.principal}@${attrs.realm}`, ...(password !== undefined ? { password } : {}) };
    });
    return {
      cell: v.cell, realm: v.realm, realms: v.realms, trusts: v.trusts.map(([c, sv]) => `krbtgt/${sv}@${c}`), dbservers: v.dbservers,
      fileservers: of<{ guest: string }>(state, 'afs-fs').map(({ attrs }) => ({ guest: attrs.guest, ip: ip(attrs.guest) })),
      clients: of<{ guest: string; software: string }>(state, 'afs-client').map(({ attrs }) => ({ guest: attrs.guest, ip: ip(attrs.guest), software: attrs.software })),
      addresses: v.ips, principals,
      volumes: of<VolumeAttrs>(state, 'volume').map(({ attrs }) => ({ name: attrs.volume, server: attrs.server, partition: attrs.partition })),
      keytabs: of<KeytabAttrs>(state, 'keytab').map(({ attrs }) => ({ principal: `${attrs.principal}@${attrs.realm}`, guest: attrs.guest, enctypes: attrs.enctypes })),
    };
  } finally {
    await s.close();
  }
}
