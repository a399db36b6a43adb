// What a running Linux guest says about itself (modules, mounts, afsd), read in one agent request.
import type { GuestAgent } from '../vm/agent.js';
import { GUEST_BUSYBOX } from '../vm/guest-agent.js';

export interface GuestFacts {
  modules: Set<string>; // /proc/modules
  mounts: { dev: string; path: string; fs: string }[]; // /proc/mounts
  afsd: number[]; // pids of afsd
}

const FACTS = `cat /proc/modules; echo @@; cat /proc/mounts; echo @@; ${GUEST_BUSYBOX} pidof afsd; true`;

/**
 * The guest's facts, or undefined when it does not answer in time (stopped, hung, or its agent
 * socket held by another cellctl process: QEMU serves one client at a time). A domU under nested
 * TCG answers through a relay in dom0: its driver gives it longer (waitMs).
 */
export async function guestFacts(agent: GuestAgent | undefined, waitMs = 5_000): Promise<GuestFacts | undefined> {
  if (!agent) return undefined;
  try {
    await agent.ping(waitMs);
    const r = await agent.exec('sh', ['-c', FACTS], { timeoutMs: 2 * waitMs });
    const [mods = '', mounts = '', pids = ''] = r.stdout.split('@@\n');
    return {
      modules: new Set(mods.split('\n').map((l) => l.split(' ')[0]!).filter(Boolean)),
      mounts: mounts.split('\n').filter(Boolean).map((l) => l.split(' ')).map(([dev = '', path = '', fs = '']) => ({ dev, path, fs })),
      afsd: pids.trim().split(/\s+/).filter(Boolean).map(Number),
    };
  } catch {
    return undefined;
  }
}

/** afsd runs and /afs is mounted. */
export const afsUp = (f: GuestFacts): boolean => f.afsd.length > 0 && f.mounts.some((m) => m.path === '/afs' && m.fs === 'afs');

/** The device mounted at `path` in the guest, or undefined. */
export async function mountedAt(agent: GuestAgent, path: string): Promise<string | undefined> {
  const r = await agent.exec('cat', ['/proc/mounts'], { timeoutMs: 10_000 });
  return r.stdout.split('\n').map((l) => l.split(' ')).find((f) => f[1] === path)?.[0];
}
