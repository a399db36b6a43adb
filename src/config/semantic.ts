// Checks the schema cannot express: references between sections, catalog ids, files on disk,
// disk specs. Written against possibly ill-typed data (they run alongside the schema's own errors),
// so every access checks its type. Bridges, devices and MAC clashes are compat rules, not here.
import { statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import type { Catalog } from '../catalog/types.js';
import { UserError, type Diagnostic } from '../diagnostics.js';
import { artifactKernel, artifactModule } from '../kmod/resolve.js';
import { parseDisk } from './disk.js';
import { isModulePath, resolveFrom } from './refs.js';
import type { SourceMap } from './yaml/source.js';
import { checkAfsContents, checkRealms, type Checks } from './semantic-afs.js';
import { hintFor } from './suggest.js';
import type { Path } from './types.js';
import { subject, where } from './words.js';

type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const entries = (v: unknown): [string, unknown][] => (isObj(v) ? Object.entries(v) : []);


export class SemanticChecker {
  private readonly out: Diagnostic[] = [];
  // Sets: afs.clients may name every one of 10,000 guests.
  private readonly guests: Set<string>;
  private readonly hosts: Set<string>;

  constructor(
    private readonly data: Obj,
    private readonly src: SourceMap,
    private readonly catalog: Catalog,
    private readonly baseDir: string,
  ) {
    this.guests = new Set(Object.keys(isObj(data.guests) ? data.guests : {}));
    this.hosts = new Set(Object.keys(isObj(data.hosts) ? data.hosts : {}));
  }

  run(): Diagnostic[] {
    for (const [name, h] of entries(this.data.hosts)) this.host(name, h);
    for (const [name, g] of entries(this.data.guests)) this.guest(name, g);
    if (isObj(this.data.kerberos)) this.kerberos(this.data.kerberos);
    checkRealms(this.lend(), this.data);
    if (isObj(this.data.afs)) {
      this.afs(this.data.afs);
      checkAfsContents(this.lend(), this.data, this.data.afs);
    }
    if (isObj(this.data.software) && isObj(this.data.software.openafs)) this.dirRef(this.data.software.openafs.prefix, ['software', 'openafs', 'prefix'], 'OpenAFS install tree');
    return this.out;
  }

  /** The helpers the realm and AFS-contents checks (semantic-afs.ts) use. */
  private lend(): Checks {
    return {
      add: (m, p, h, k) => this.add(m, p, h, k),
      guestRef: (n, p, k) => this.guestRef(n, p, k),
      catalogRef: (t, w, p) => this.catalogRef(t, w, p),
      software: this.catalog.software,
    };
  }

  /**
   * A hint given as a function is worked out when first read. Only the first ~20 diagnostics are
   * shown, and finding the nearest of 10,000 guest names for each of 10,000 bad references is not.
   */
  private add(message: string, path: Path, hint?: string | (() => string | undefined), atKey = false): void {
    const d: Diagnostic = { message, pos: atKey ? this.src.keyPosOf(path) : this.src.posOf(path) };
    if (typeof hint === 'function') {
      let memo: { v: string | undefined } | undefined;
      Object.defineProperty(d, 'hint', { enumerable: true, get: () => (memo ??= { v: hint() }).v });
    } else if (hint !== undefined) d.hint = hint;
    this.out.push(d);
  }

  /** An id that must be a key of one catalog table. */
  private catalogRef(table: Map<string, unknown>, what: string, path: Path): void {
    const id = str(this.valueAt(path));
    if (id === undefined || table.has(id)) return;
    this.add(`unknown ${what} '${id}' in ${where(path.slice(0, -1))}`, path, () => hintFor(id, [...table.keys()]));
  }

  /** A name that must be one of the guests. */
  private guestRef(name: unknown, path: Path, atKey = false): void {
    if (typeof name !== 'string' || this.guests.has(name)) return;
    this.add(`unknown guest '${name}' in ${where(path.slice(0, -1))}`, path, () => hintFor(name, [...this.guests]), atKey);
  }

  private valueAt(path: Path): unknown {
    let cur: unknown = this.data;
    for (const seg of path) cur = isObj(cur) || Array.isArray(cur) ? (cur as Obj)[seg as string] : undefined;
    return cur;
  }

  /** A file the cell names exists and is a file; returns its absolute path when it is. */
  private fileRef(p: unknown, path: Path, what: string): string | undefined {
    if (typeof p !== 'string' || p === '') return undefined;
    const abs = resolveFrom(this.baseDir, p);
    let problem: string | undefined;
    try {
      if (!statSync(abs).isFile()) problem = 'is not a file';
    } catch {
      problem = 'does not exist';
    }
    if (problem) this.add(`${what} ${abs} ${problem} (${subject(path)})`, path, isAbsolute(p) ? undefined : "relative paths are taken from the cell file's directory");
    return problem ? undefined : abs;
  }

  /** A directory the cell names exists and is one. */
  private dirRef(p: unknown, path: Path, what: string): void {
    if (typeof p !== 'string' || p === '') return;
    const abs = resolveFrom(this.baseDir, p);
    let problem: string | undefined;
    try {
      if (!statSync(abs).isDirectory()) problem = 'is not a directory';
    } catch {
      problem = 'does not exist';
    }
    if (problem) this.add(`${what} ${abs} ${problem} (${subject(path)})`, path, isAbsolute(p) ? 'the directory `make install DESTDIR=` installed into' : "relative paths are taken from the cell file's directory");
  }

  /**
   * Kernel artifacts are read here, through the same size-capped readers check-module uses, so a bad
   * one (too large, corrupt, a gzip bomb) is reported at the cell line that names it.
   */
  private artifact(path: Path, read: () => unknown): void {
    try {
      read();
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      for (const x of e.diagnostics) this.add(`${x.message} (${subject(path)})`, path, x.hint);
    }
  }

  private host(name: string, h: unknown): void {
    if (!isObj(h)) return;
    this.catalogRef(this.catalog.os, 'OS', ['hosts', name, 'os']);
    this.catalogRef(this.catalog.xen, 'Xen release', ['hosts', name, 'xen']);
  }

  private guest(name: string, g: unknown): void {
    if (!isObj(g)) return;
    const at = (...rest: (string | number)[]): Path => ['guests', name, ...rest];
    const host = str(g.host);
    if (host !== undefined && !this.hosts.has(host)) {
      this.add(`unknown host '${host}' in guest '${name}'`, at('host'), () => hintFor(host, [...this.hosts]));
    }
    this.catalogRef(this.catalog.os, 'OS', at('os'));
    if (typeof g.kernel === 'string') this.catalogRef(this.catalog.kernels, 'kernel', at('kernel'));
    else if (isObj(g.kernel)) {
      const symvers = this.fileRef(g.kernel.symvers, at('kernel', 'symvers'), 'Module.symvers');
      const config = this.fileRef(g.kernel.config, at('kernel', 'config'), 'kernel config');
      this.fileRef(g.kernel.image, at('kernel', 'image'), 'kernel image');
      this.catalogRef(this.catalog.xen, 'Xen release', at('kernel', 'xen'));
      const k = g.kernel;
      if (symvers && (config || k.config === undefined)) {
        this.artifact(at('kernel'), () => artifactKernel({
          symvers, ...(config ? { config } : {}),
          ...(typeof k.release === 'string' || typeof k.release === 'number' ? { release: String(k.release) } : {}),
          ...(typeof k.xen === 'string' ? { xen: k.xen } : {}),
        }));
      }
    }
    if (typeof g.memory === 'number' && typeof g.maxmem === 'number' && g.maxmem < g.memory) {
      this.add(`'maxmem' of guest '${name}' is ${g.maxmem} MiB, less than its memory (${g.memory} MiB)`, at('maxmem'), 'maxmem is what the guest may balloon up to; it must be at least memory');
    }
    list(g.disks).forEach((d, i) => {
      if (typeof d !== 'string') return;
      try {
        parseDisk(d);
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        for (const x of e.diagnostics) this.add(`${x.message} (${subject(at('disks', i))})`, at('disks', i), x.hint);
      }
    });
    list(g.extra_modules).forEach((m, i) => {
      if (typeof m !== 'string') return;
      if (isModulePath(m)) {
        const abs = this.fileRef(m, at('extra_modules', i), 'kernel module');
        if (abs) this.artifact(at('extra_modules', i), () => artifactModule(abs));
      } else this.catalogRef(this.catalog.modules, 'kernel module', at('extra_modules', i));
    });
  }

  private kerberos(k: Obj): void {
    this.catalogRef(this.catalog.software, 'software', ['kerberos', 'software']);
    list(k.kdcs).forEach((g, i) => this.guestRef(g, ['kerberos', 'kdcs', i]));
  }

  private afs(a: Obj): void {
    this.catalogRef(this.catalog.software, 'software', ['afs', 'software']);
    list(a.dbservers).forEach((g, i) => this.guestRef(g, ['afs', 'dbservers', i]));
    const fileservers = isObj(a.fileservers) ? a.fileservers : {};
    for (const g of Object.keys(fileservers)) this.guestRef(g, ['afs', 'fileservers', g], true);
    for (const [g] of entries(a.clients)) {
      this.guestRef(g, ['afs', 'clients', g], true);
      this.catalogRef(this.catalog.software, 'software', ['afs', 'clients', g]);
    }
    const seen = new Map<string, number>();
    list(a.volumes).forEach((v, i) => {
      if (!isObj(v)) return;
      const at = (k: string): Path => ['afs', 'volumes', i, k];
      const name = str(v.name);
      if (name !== undefined) {
        const first = seen.get(name);
        if (first !== undefined) {
          this.add(`duplicate volume '${name}' in afs.volumes`, at('name'), `it is also afs.volumes[${first}], line ${this.src.posOf(['afs', 'volumes', first, 'name'])?.line}`);
        } else seen.set(name, i);
      }
      const server = str(v.server);
      if (server === undefined) return;
      if (!this.guests.has(server)) return this.guestRef(server, at('server'));
      const parts = fileservers[server];
      if (parts === undefined) {
        this.add(`volume '${name}' is on '${server}', which is not an AFS fileserver`, at('server'), `add it to afs.fileservers, or use ${Object.keys(fileservers).join(' or ') || 'a fileserver'}`);
        return;
      }
      const partition = str(v.partition);
      const have = list(parts).filter((p): p is string => typeof p === 'string');
      if (partition !== undefined && !have.includes(partition)) {
        this.add(`volume '${name}' is on partition '${partition}', which fileserver '${server}' does not have`, at('partition'), hintFor(partition, have));
      }
    });
  }
}
