// The AFS client: afsd.fuse (OpenAFS's user-space cache manager) mounted at /afs in the client guest's
// own mount namespace. Tokens: afsd.fuse has no pioctl, so a second libuafs client (compiled here from
// OpenAFS's libuafs) holds the rxkad token that real aklog makes; see TOKEN_NOTE.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type { AfsClientAttrs } from '../../plan/resources.js';
import { scrubbedEnv } from '../../state/secrets.js';
import { buildLabel, buildOf, buildPath, sameBuild } from '../services/afs-build.js';
import { ensureAfsTree } from '../services/afs-servers.js';
import { kinit } from '../services/kerberos.js';
import type { Services } from '../services/placement.js';
import { alive, lastLines, type Runner, until } from './exec.js';
import { shortHash, type Layout } from './layout.js';
import { daemonMarks, killPids } from './namespaces.js';
import { bosAlive, enterArgs } from './placement.js';
import { TOKCAP_C, UAFS_C } from './helpers-c.js';

export const TOKEN_NOTE =
  'afsd.fuse implements no pioctl, so tokens cannot reach it; the token from real aklog (captured at its pioctl, no kernel module here) ' +
  'is loaded into a libuafs cache manager (the library afsd.fuse is built on) that does the authenticated file access';

export function clientPid(L: Layout, guest: string): number | undefined {
  const pid = L.reg.clients[guest]?.pid;
  return pid && alive(pid) ? pid : undefined;
}

export function afsMounted(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/mounts`, 'utf8').split('\n').some((l) => l.split(' ')[1] === '/afs' && l.includes('fuse'));
  } catch {
    return false;
  }
}

export async function createClient(x: Services, L: Layout, a: AfsClientAttrs, standIn?: string): Promise<Record<string, string | number | null>> {
  L.reg.dbPlanned = a.dbservers;
  await ensureAfsTree(x, x.place(a.guest), a.dbservers);
  let pid = clientPid(L, a.guest);
  const build = buildOf(a);
  if (pid && !sameBuild(L.reg.clients[a.guest]?.build, build)) {
    L.log(`${a.guest}: restarting afsd.fuse from ${buildLabel(build)}`);
    await stopClient(pid);
    pid = undefined;
  }
  if (!pid || !afsMounted(pid)) {
    if (pid) await killPids([pid]);
    // -f (a FUSE option): stay in the foreground so the pid we get is afsd.fuse's own.
    const child = execa('ip', enterArgs(L, a.guest, [], ['afsd.fuse', '-dynroot', '-fakestat', '-memcache', '-blocks', '65536',
      '-confdir', '/etc/openafs', '-mountdir', '/afs', '-f']), {
      detached: true, stdio: 'ignore', reject: false, extendEnv: false,
      env: { ...scrubbedEnv(), PATH: buildPath(build), CELLCTL_LOG: L.afsPath(a.guest, '/var/log/openafs/afsd.fuse.log'), ...daemonMarks(L, a.guest) },
    });
    child.catch(() => undefined);
    child.unref();
    pid = child.pid;
    if (!pid) throw new Error(`afsd.fuse did not start on ${a.guest}`);
    L.reg.clients[a.guest] = { pid, ...(build.prefix ? { build } : {}) };
    L.save();
    const p = pid;
    await until(`afsd.fuse to mount /afs on ${a.guest}`, 15_000, async () => {
      if (!alive(p)) throw new Error(`afsd.fuse exited on ${a.guest}: ${lastLines(readLog(L, a.guest), 4)}`);
      return afsMounted(p);
    }, 50);
  }
  return {
    pid, mount: '/afs', cache_manager: 'afsd.fuse -dynroot -fakestat -memcache (user space, no kernel module)',
    module: a.module, ...(build.prefix ? { afsd: buildLabel(build) } : standIn ? { stand_in: standIn } : {}),
  };
}

function readLog(L: Layout, guest: string): string {
  const f = L.afsPath(guest, '/var/log/openafs/afsd.fuse.log');
  return existsSync(f) ? readFileSync(f, 'utf8') : '';
}

/** Unmounts /afs in the client's namespace and ends afsd.fuse. */
async function stopClient(pid: number): Promise<void> {
  await execa('nsenter', ['-t', String(pid), '-m', '--', 'umount', '-l', '/afs'], { reject: false });
  await killPids([pid]);
}

export async function deleteClient(_r: Runner, L: Layout, guest: string): Promise<void> {
  const pid = clientPid(L, guest);
  if (pid) await stopClient(pid);
  delete L.reg.clients[guest];
  L.save();
}

/** A command in the client's namespaces (its /etc/openafs, its /afs); on a server guest without a client, in bosserver's. */
export function inClient(r: Runner, L: Layout, guest: string, cmd: string, args: string[], o: Parameters<Runner['run']>[2] = {}) {
  const pid = clientPid(L, guest) ?? bosAlive(L, guest);
  if (!pid) throw new Error(`afsd.fuse is not running on ${guest}`);
  const build = L.reg.clients[guest]?.build ?? L.reg.afsBuild?.[guest];
  return r.inProc(pid, cmd, args, build ? { ...o, env: { PATH: buildPath(build), ...(o.env ?? {}) } } : o);
}

// ---- authenticated access: token capture + libuafs helper ----

export interface Helpers { tokcap: string; uafs: string }

const LIB = '/usr/lib/x86_64-linux-gnu';
const NEEDS = ['/usr/lib/libuafs.a', '/usr/lib/afs/libcmd.a', '/usr/lib/libopr.a', `${LIB}/libhcrypto.so.5`, `${LIB}/libroken.so.19`];

/** Why the authenticated client cannot be built here, or undefined when it can. */
export function helperMissing(): string | undefined {
  const missing = NEEDS.filter((f) => !existsSync(f));
  const gcc = ['/usr/bin/gcc', '/usr/bin/cc'].some((f) => existsSync(f));
  if (!missing.length && gcc) return undefined;
  const pkgs = [...(missing.some((f) => f.startsWith('/usr/lib/lib') || f.startsWith('/usr/lib/afs')) ? ['libopenafs-dev'] : []), ...(gcc ? [] : ['gcc', 'libc6-dev'])];
  return `the authenticated AFS client needs libuafs and a C compiler: apt-get install -y --no-install-recommends ${pkgs.join(' ')}`;
}

const building = new Map<string, Promise<Helpers>>(); // bin dir -> its build: steps running at once share one

/** Builds tokcap.so and cellctl-uafs once per state dir (about 0.3 s), rebuilt when their source changes. */
export function ensureHelpers(r: Runner, L: Layout): Promise<Helpers> {
  const why = helperMissing();
  if (why) return Promise.reject(new Error(why));
  const out = { tokcap: join(L.binDir, 'tokcap.so'), uafs: join(L.binDir, 'cellctl-uafs') };
  const stamp = join(L.binDir, 'helpers.hash');
  const hash = shortHash(TOKCAP_C + UAFS_C, 16);
  if (existsSync(out.tokcap) && existsSync(out.uafs) && existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) return Promise.resolve(out);
  const running = building.get(L.binDir);
  if (running) return running;
  const build = (async () => {
    mkdirSync(L.binDir, { recursive: true });
    writeFileSync(join(L.binDir, 'tokcap.c'), TOKCAP_C);
    writeFileSync(join(L.binDir, 'cellctl-uafs.c'), UAFS_C);
    // Built beside and renamed: a helper running from another step never sees a half-written file.
    await r.must('gcc', ['-shared', '-fPIC', '-O2', '-o', `${out.tokcap}.new`, join(L.binDir, 'tokcap.c'), '-ldl']);
    await r.must('gcc', ['-O2', '-o', `${out.uafs}.new`, join(L.binDir, 'cellctl-uafs.c'), ...NEEDS, '-lpthread', '-lresolv']);
    renameSync(`${out.tokcap}.new`, out.tokcap);
    renameSync(`${out.uafs}.new`, out.uafs);
    writeFileSync(stamp, hash);
    return out;
  })().finally(() => building.delete(L.binDir));
  building.set(L.binDir, build);
  return build;
}

export interface TokenResult { ok: boolean; file?: string; message: string; detail: string; viceId?: number }

/** kinit, then real aklog in the client's namespaces; its token pioctl is captured by tokcap.so into a 0600 file. */
export async function getToken(x: Services, r: Runner, L: Layout, guest: string, principal: string, pw: string): Promise<TokenResult> {
  const h = await ensureHelpers(r, L);
  const k = await kinit(x, x.place(guest), principal, pw);
  if (!k.ok) return { ok: false, message: `kinit ${principal} failed`, detail: k.out };
  const file = join(L.tmpDir(guest), `token_${principal.replace(/[^A-Za-z0-9]/g, '_')}`);
  rmSync(file, { force: true });
  const env = { ...k.env, LD_PRELOAD: h.tokcap, CELLCTL_TOKEN_OUT: file };
  const ak = await inClient(r, L, guest, 'aklog', ['-d', '-c', L.cell, '-k', L.realm], { env, timeoutMs: 20_000 });
  if (ak.code !== 0 || !existsSync(file)) return { ok: false, message: `aklog for ${principal} in ${L.cell} failed`, detail: ak.out };
  const id = Number(/^Id (-?\d+)/m.exec(ak.out)?.[1] ?? NaN);
  return { ok: true, file, message: 'aklog made a token', detail: ak.out, ...(Number.isFinite(id) ? { viceId: id } : {}) };
}

/** One libuafs operation in the client's namespaces, with or without a token file. */
export async function uafs(r: Runner, L: Layout, guest: string, token: string | undefined, op: string[], input?: string) {
  const h = await ensureHelpers(r, L);
  const res = await inClient(r, L, guest, h.uafs, [...(token ? ['-t', token] : []), ...op], { input, timeoutMs: 30_000 });
  // libuafs prints its start-up chatter on stdout; keep the lines that are ours.
  const chatter = /^(Starting AFS cache scan|afsd: All AFS daemons started|Memory cache)/;
  const stdout = res.stdout.split('\n').filter((l) => !chatter.test(l)).join('\n');
  return { ...res, stdout };
}
