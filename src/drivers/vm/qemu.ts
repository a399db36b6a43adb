// A QEMU guest's life: start (daemonised, so it outlives cellctl), wait for its agent, stop it
// (guest poweroff, then QMP quit, SIGTERM, SIGKILL), and tell whether it still runs.
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { chooseAccel, type AccelChoice } from './accel.js';
import { GuestAgent, AgentTimeoutError } from './agent.js';
import { qmpCommand } from './qmp.js';
import { guestPaths, kernelCmdline, qemuArgs, type GuestPaths, type GuestSpec } from './qemu-args.js';

export type { GuestSpec, Vif, Disk } from './qemu-args.js';

export interface Guest extends GuestPaths {
  name: string;
  pid: number;
  accel: AccelChoice;
  cmdline: string; // the kernel command line
  agent: GuestAgent;
}

const QEMU = 'qemu-system-x86_64';

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function readPid(pidfile: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidfile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Running (not a zombie) and still the QEMU that wrote this pidfile (pids get reused). */
function isOurQemu(pid: number, pidfile: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.some((a) => a.includes(QEMU)) && argv.includes(pidfile);
  } catch {
    return false;
  }
}

/** QEMU processes whose pidfile is under dir (found through /proc: works without a pidfile or a record). */
export function qemuPidsUnder(dir: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      const pf = argv[argv.indexOf('-pidfile') + 1];
      if (argv.some((x) => x.endsWith(QEMU)) && argv.includes('-pidfile') && pf?.startsWith(`${dir}/`)) out.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** The pid of the guest's QEMU if it is running, else undefined (for refresh after a restart of cellctl). */
export function guestAlive(pidfile: string): number | undefined {
  const pid = readPid(pidfile);
  return pid !== undefined && isOurQemu(pid, pidfile) ? pid : undefined;
}

/**
 * A handle on a guest started earlier (by this or another process), found from its directory;
 * the accelerator is read back from the running QEMU's command line.
 */
export function attachGuest(name: string, dir: string): Guest | undefined {
  const paths = guestPaths(dir);
  const pid = guestAlive(paths.pidfile);
  if (pid === undefined) return undefined;
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  const arg = (flag: string) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] ?? '' : '');
  const accel: AccelChoice = { accel: arg('-accel') === 'kvm' ? 'kvm' : 'tcg', cpu: arg('-cpu'), reason: `found running (pid ${pid})` };
  return { ...paths, name, pid, accel, cmdline: arg('-append'), agent: new GuestAgent(paths.agentSocket, `guest ${name}`) };
}

export function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * Starts QEMU daemonised; returns once QEMU has set the machine up (taps opened, sockets
 * listening), not once the guest has booted: see waitReady.
 */
export async function startGuest(spec: GuestSpec): Promise<Guest> {
  const paths = guestPaths(spec.dir);
  mkdirSync(paths.dir, { recursive: true });
  if (paths.socketDir) mkdirSync(paths.socketDir, { recursive: true, mode: 0o700 });
  if (guestAlive(paths.pidfile)) throw new Error(`guest ${spec.name}: already running (pid ${readPid(paths.pidfile)})`);
  for (const f of [paths.agentSocket, paths.qmpSocket, paths.pidfile]) rmSync(f, { force: true });

  const accel = await chooseAccel({ kernel: spec.kernel, initrd: spec.initrd });
  const args = qemuArgs(spec, accel, paths);
  const argv = spec.netns ? ['ip', 'netns', 'exec', spec.netns, QEMU, ...args] : [QEMU, ...args];
  appendFileSync(paths.consoleLog, `=== cellctl: starting guest ${spec.name} at ${new Date().toISOString()} (${accel.accel}: ${accel.reason})\n`);
  writeFileSync(paths.qemuLog, '');

  // stderr to a file, not a pipe, so no pipe is left for the daemon to hold open; QEMU writes its
  // errors to -D qemuLog (the file catches what comes before it parsed -D)
  const errFile = `${paths.qemuLog}.start`;
  const r = await execa(argv[0]!, argv.slice(1), { stdin: 'ignore', stdout: 'ignore', stderr: { file: errFile }, reject: false, timeout: 60_000 });
  const startErr = readFileSync(errFile, 'utf8').trim();
  rmSync(errFile, { force: true });
  if (startErr) appendFileSync(paths.qemuLog, startErr + '\n');
  const pid = guestAlive(paths.pidfile);
  if (r.exitCode !== 0 || pid === undefined) {
    // with -D, QEMU reports even its start-up errors in that log rather than on stderr
    const why = tail(paths.qemuLog, 5).split('\n').filter(Boolean).join(' | ') || 'no error output';
    throw new Error(`guest ${spec.name}: QEMU did not start (exit ${r.exitCode ?? r.signal}): ${why}`);
  }
  return { ...paths, name: spec.name, pid, accel, cmdline: kernelCmdline(spec), agent: new GuestAgent(paths.agentSocket, `guest ${spec.name}`) };
}

/**
 * Waits until the guest's agent answers; returns the milliseconds waited. Fails early, with the
 * console's last lines, when QEMU exits first (a kernel panic, /init failing).
 */
export async function waitReady(guest: Guest, timeoutMs = 90_000): Promise<number> {
  return waitForAgent(guest.agent, {
    label: `guest ${guest.name}`, consoleLog: guest.consoleLog, timeoutMs,
    gone: () => (guestAlive(guest.pidfile) ? undefined : `QEMU exited before the agent answered; console ends:\n${tail(guest.consoleLog, 15)}\n${tail(guest.qemuLog, 3)}`),
  });
}

/**
 * Waits until an agent answers, whoever runs the guest: `gone` says why waiting is pointless (the
 * VM stopped), or undefined while it runs. Returns the milliseconds waited.
 */
export async function waitForAgent(agent: GuestAgent, o: { label: string; consoleLog: string; timeoutMs: number; gone: () => string | undefined | Promise<string | undefined> }): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const why = await o.gone();
    if (why) throw new Error(`${o.label}: ${why}`);
    const left = o.timeoutMs - (Date.now() - t0);
    if (left <= 0) throw new AgentTimeoutError(`${o.label}: agent not ready after ${o.timeoutMs} ms; console ends:\n${tail(o.consoleLog, 15)}`);
    // the agent says on the console when it reads its port: a ping sent before that may be lost
    if (!agentStarted(o.consoleLog) && Date.now() - t0 < o.timeoutMs / 2) {
      await sleep(100);
      continue;
    }
    try {
      // short attempts, so a VM that died is noticed; an unanswered ping is dropped with its connection
      await agent.ping(Math.min(2_000, left));
      return Date.now() - t0;
    } catch (e) {
      if (!(e instanceof AgentTimeoutError)) await sleep(100); // socket not there yet, or connection reset
    }
  }
}

/** The console of the guest's current boot shows the agent's "ready on <port>" line. */
function agentStarted(consoleLog: string): boolean {
  try {
    const text = readFileSync(consoleLog, 'utf8');
    return /cellctl-agent: \[[\d.]+\] ready on /.test(text.slice(Math.max(0, text.lastIndexOf('=== cellctl: starting guest'))));
  } catch {
    return false;
  }
}

async function waitGone(guest: Guest, ms: number): Promise<boolean> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (!isOurQemu(guest.pid, guest.pidfile)) return true;
    await sleep(50);
  }
  return !isOurQemu(guest.pid, guest.pidfile);
}

export type StopMethod = 'not-running' | 'poweroff' | 'qmp-quit' | 'SIGTERM' | 'SIGKILL';

/**
 * Stops the guest and returns once its QEMU is gone, saying which step ended it: the guest's own
 * poweroff (clean: disks synced), QMP quit, SIGTERM, SIGKILL, each after a bounded wait.
 */
export async function stopGuest(guest: Guest, o: { poweroffWaitMs?: number } = {}): Promise<StopMethod> {
  let how: StopMethod | undefined;
  if (!isOurQemu(guest.pid, guest.pidfile)) how = 'not-running';
  if (!how) {
    guest.agent.abort('guest stopping');
    const asked = await guest.agent.poweroff(3_000).then(() => true, () => false);
    if (asked && (await waitGone(guest, o.poweroffWaitMs ?? 10_000))) how = 'poweroff';
  }
  guest.agent.close();
  if (!how && existsSync(guest.qmpSocket)) {
    await qmpCommand(guest.qmpSocket, 'quit').catch(() => undefined);
    if (await waitGone(guest, 3_000)) how = 'qmp-quit';
  }
  for (const sig of ['SIGTERM', 'SIGKILL'] as const) {
    if (how) break;
    try {
      process.kill(guest.pid, sig);
    } catch {
      /* gone meanwhile */
    }
    if (await waitGone(guest, sig === 'SIGTERM' ? 3_000 : 10_000)) how = sig;
  }
  if (!how) throw new Error(`guest ${guest.name}: QEMU pid ${guest.pid} survived SIGKILL`);
  for (const f of [guest.agentSocket, guest.qmpSocket, guest.pidfile]) rmSync(f, { force: true });
  if (guest.socketDir) rmSync(guest.socketDir, { recursive: true, force: true });
  return how;
}
