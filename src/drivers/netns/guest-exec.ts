// cellctl exec on the netns driver: a command in the guest's namespaces (its network, and the mount
// namespace where its /etc/openafs and /afs are), with a scrubbed environment: PATH, the cell's
// krb5.conf, a ticket cache of the guest's own. stdin, stdout, stderr and the exit status pass through.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { constants } from 'node:os';
import { execa } from 'execa';
import type { ExecRequest } from '../driver.js';
import { ensureAfsTree } from '../services/afs-servers.js';
import { buildPath } from '../services/afs-build.js';
import type { Services } from '../services/placement.js';
import { clientPid } from './client.js';
import type { Runner } from './exec.js';
import type { Layout } from './layout.js';
import { bosAlive, enterArgs } from './placement.js';


/** The argv that runs `cmd` inside the guest: joining a running daemon's namespaces, else a fresh mount namespace like theirs. */
async function enter(L: Layout, x: Services, guest: string, cmd: string[]): Promise<string[]> {
  const pid = clientPid(L, guest) ?? bosAlive(L, guest); // afsd.fuse's namespaces hold /afs
  if (pid) return ['nsenter', '-t', String(pid), '-m', '-n', '-u', '--', ...cmd];
  await ensureAfsTree(x, x.place(guest)); // CellServDB and ThisCell for the client tools
  return ['ip', ...enterArgs(L, guest, [], cmd)];
}

export async function execInGuest(r: Runner, L: Layout, x: Services, req: ExecRequest): Promise<number> {
  L.guest(req.guest); // throws for a guest that is not up
  const scratch = req.as ? mkdtempSync(join(L.tmpDir(req.guest), 'exec-')) : undefined;
  const env: Record<string, string> = {
    // a guest running your own OpenAFS build has its programs first (its client's, else its servers')
    PATH: buildPath(L.reg.clients[req.guest]?.build ?? L.reg.afsBuild?.[req.guest]), HOME: '/root', LANG: 'C.UTF-8', ...(process.env.TERM ? { TERM: process.env.TERM } : {}),
    KRB5_CONFIG: L.krb5Conf,
    // root's ticket cache on the guest, kept between runs; --as gets one of its own
    KRB5CCNAME: `FILE:${scratch ? join(scratch, 'krb5cc') : join(L.tmpDir(req.guest), 'krb5cc_exec')}`,
  };
  try {
    if (req.as) {
      const inGuest = async (cmd: string[], input?: string) => {
        const a = await enter(L, x, req.guest, cmd);
        return r.run(a[0]!, a.slice(1), { env, timeoutMs: 20_000, ...(input !== undefined ? { input } : {}) });
      };
      const principal = req.as.principal.includes('@') ? req.as.principal : `${req.as.principal}@${L.realm}`;
      const k = await inGuest(['kinit', principal], `${req.as.password}\n`); // the password on stdin only
      if (k.code !== 0) {
        req.stderr.write(`cellctl exec: kinit ${principal} failed: ${k.out}\n`);
        return k.code;
      }
      const a = await inGuest(['aklog', '-c', L.cell, '-k', L.realm]);
      if (a.code !== 0) {
        req.stderr.write(`cellctl exec: aklog: ${a.out.trim() || `exit ${a.code}`} (afsd.fuse implements no pioctl: the command runs with Kerberos tickets and no AFS token)\n`);
      }
    }
    const argv = await enter(L, x, req.guest, req.argv);
    const child = execa(argv[0]!, argv.slice(1), {
      env, extendEnv: false, reject: false, stdin: req.stdin as never, stdout: req.stdout as never, stderr: req.stderr as never,
    });
    const res = await child;
    if (typeof res.exitCode === 'number') return res.exitCode;
    const sig = res.signal ? constants.signals[res.signal as keyof typeof constants.signals] : undefined;
    return sig ? 128 + sig : 1;
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}
