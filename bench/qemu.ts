// --driver qemu timings: cells/tproa.yaml smoke, apply and destroy as processes (what a user waits
// for), and one in-process apply + destroy with a time per step (boot to agent, openafs.ko insmod,
// afsd ready and its guest uptime, partition) -- reported, never asserted.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface QemuBench {
  available: boolean;
  reason?: string;
  openafsKo?: { cached: boolean; lookupMs?: number; firstBuildS?: number; error?: string };
  smoke?: { ms: number; code: number };
  apply?: { ms: number; code: number };
  destroy?: { ms: number; code: number };
  steps?: Record<string, number>; // in-process apply/destroy, ms per step
  guest?: { bootMs?: number; afsdReadyAtUptimeS?: number; accel?: string };
  inprocApplyMs?: number;
  inprocDestroyMs?: number;
  error?: string;
}

interface Proc { ms: number; code: number }

export interface BenchIo {
  root: string;
  cli: string;
  run(args: string[], timeoutMs: number): Promise<Proc>;
  freshDir(what: string): string;
  log(line: string): void;
}

const round = (x: number) => Math.round(x);

export async function qemuBench(io: BenchIo): Promise<QemuBench> {
  const dist = (p: string) => pathToFileURL(join(io.root, 'dist', p)).href;
  const qemu = (await import(dist('src/drivers/qemu/index.js'))) as typeof import('../src/drivers/qemu/index.js');
  const pre = qemu.qemuPrerequisites();
  if (!pre.ok) return { available: false, reason: pre.reason };
  const kmod = (await import(dist('src/kmod/openafs-ko.js'))) as typeof import('../src/kmod/openafs-ko.js');
  const out: QemuBench = { available: true };
  const t0 = performance.now();
  try {
    const ko = await kmod.ensureOpenafsKo({ build: false });
    out.openafsKo = { cached: true, lookupMs: round(performance.now() - t0), firstBuildS: ko.buildSeconds };
  } catch (e) {
    return { available: false, reason: `openafs.ko not cached (the first build takes ~18 min; run the tests or apply once): ${(e as Error).message.split('\n')[0]}` };
  }
  const tproa = join(io.root, 'cells/tproa.yaml');

  io.log('qemu: smoke cells/tproa.yaml --driver qemu');
  out.smoke = await io.run(['smoke', tproa, '--driver', 'qemu'], 900_000);
  const dir = io.freshDir('qemu');
  io.log('qemu: apply + destroy cells/tproa.yaml --driver qemu (processes)');
  out.apply = await io.run(['apply', tproa, '--driver', 'qemu', '--state-dir', dir, '--quiet', '--auto-approve'], 900_000);
  out.destroy = await io.run(['destroy', tproa, '--state-dir', dir, '--quiet', '--auto-approve'], 900_000);

  io.log('qemu: apply + destroy in-process, a time per step');
  const { Session } = (await import(dist('src/ops/session.js'))) as typeof import('../src/ops/session.js');
  const { converge } = (await import(dist('src/ops/apply.js'))) as typeof import('../src/ops/apply.js');
  const steps: Record<string, number> = {};
  const begun = new Map<string, number>();
  const hooks = {
    started: (s: { phase: string; address: string }) => void begun.set(`${s.phase} ${s.address}`, performance.now()),
    done: (s: { phase: string; address: string }) => {
      const k = `${s.phase} ${s.address}`;
      steps[k] = round(performance.now() - (begun.get(k) ?? performance.now()));
    },
  };
  const inDir = io.freshDir('qemu-inproc');
  const signal = new AbortController().signal;
  const a0 = performance.now();
  const up = await converge(Session.load(tproa, { stateDir: inDir, driver: 'qemu' }), { destroy: false, signal, hooks });
  out.inprocApplyMs = round(performance.now() - a0);
  if (up.code !== 0) out.error = `in-process apply: ${up.result?.failed?.address}: ${up.result?.failed?.message}`;
  const st = Session.load(tproa, { stateDir: inDir, driver: 'qemu' }).readState();
  const g = st?.resources['guest.service-m1']?.outputs;
  const c = st?.resources['afs-client.service-m1']?.outputs;
  out.guest = { bootMs: g?.boot_ms as number | undefined, afsdReadyAtUptimeS: c?.ready_at_uptime_s as number | undefined, accel: g?.accel as string | undefined };
  const d0 = performance.now();
  const down = await converge(Session.load(tproa, { stateDir: inDir, driver: 'qemu' }), { destroy: true, signal, hooks });
  out.inprocDestroyMs = round(performance.now() - d0);
  if (down.code !== 0) out.error = `${out.error ?? ''} in-process destroy: ${down.result?.failed?.message}`;
  out.steps = steps;
  return out;
}
