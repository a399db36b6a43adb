// The bench's results: shape of bench/results.json, the targets, and the table printed at the end.
import type { InprocResult } from './inproc.js';
import type { ProfileSummary } from './profile.js';
import type { LibvirtBench } from './libvirt.js';
import type { QemuBench } from './qemu.js';

export interface ProcResult { median?: number; runs: number[]; rssKiB?: number; rssError?: string; error?: string }
export interface OpResult { inproc?: InprocResult; process?: ProcResult }

export interface Target {
  id: string;
  description: string;
  limit: number;
  unit: 'ms' | 'ratio';
  value?: number; // undefined when it could not be measured
  met?: boolean;
  detail?: string;
  profile?: string[]; // cellctl arguments that reproduce it, for the profiler
}

export interface Results {
  date: string;
  machine: { node: string; cpus: number; model: string; loadavg: number[] };
  method: string[];
  nodeStartupMs?: number;
  sizes: Record<number, { yamlBytes: number; stateBytes?: number; fullStateDir?: string; ops: Record<string, OpResult> }>;
  tproaPlan?: ProcResult;
  netns?: { available: boolean; reason?: string; smoke?: unknown; apply?: unknown; destroy?: unknown };
  qemu?: QemuBench;
  libvirt?: LibvirtBench;
  targets: Target[];
  profiles: (ProfileSummary & { command: string; targets: string[] })[];
}

const OPS = ['validate', 'plan-fresh', 'apply', 'plan-nochange'] as const;

const inMs = (r: Results, n: number, op: string) => {
  const x = r.sizes[n]?.ops[op]?.inproc;
  return x && !x.error && Number.isFinite(x.median) ? x.median : undefined;
};
const procMs = (r: Results, n: number, op: string) => {
  const x = r.sizes[n]?.ops[op]?.process;
  return x && !x.error ? x.median : undefined;
};

function target(t: Omit<Target, 'met'>): Target {
  return { ...t, met: t.value === undefined ? undefined : t.value <= t.limit };
}

/** The issue's targets. `big`/`mid` are the 10k and 1k cell files, for the profiler's command lines. */
export function evaluateTargets(r: Results, big: string, mid: string, tproa: string): Target[] {
  const full = (n: number) => r.sizes[n]?.fullStateDir ?? '$FRESH';
  const out: Target[] = [];
  for (const [op, label, stateDir] of [['plan-fresh', 'fresh state', '$FRESH'], ['plan-nochange', 'no changes', full(10_000)]] as const) {
    const args = ['plan', big, '--state-dir', stateDir];
    out.push(target({ id: `${op}-10k-inproc`, description: `plan (${label}) of 10,000 guests in-process < 1 s`, limit: 1000, unit: 'ms', value: inMs(r, 10_000, op), profile: args }));
    out.push(target({ id: `${op}-10k-process`, description: `plan (${label}) of 10,000 guests as a process < 1.5 s`, limit: 1500, unit: 'ms', value: procMs(r, 10_000, op), profile: args }));
    for (const [mode, get] of [['inproc', inMs], ['process', procMs]] as const) {
      const a = get(r, 10_000, op);
      const b = get(r, 1000, op);
      out.push(target({
        id: `${op}-scaling-${mode}`, description: `plan (${label}) ${mode}: t(10k)/t(1k) <= 12`, limit: 12, unit: 'ratio',
        value: a !== undefined && b ? Math.round((a / b) * 100) / 100 : undefined, detail: `${a} ms / ${b} ms`, profile: args,
      }));
    }
  }
  out.push(target({
    id: 'tproa-plan-process', description: '`cellctl plan cells/tproa.yaml` as a process < 300 ms', limit: 300, unit: 'ms',
    value: r.tproaPlan?.error ? undefined : r.tproaPlan?.median, detail: `node start-up alone: ${r.nodeStartupMs} ms`,
    profile: ['plan', tproa, '--state-dir', '$FRESH'],
  }));
  const q = r.qemu?.available ? r.qemu : undefined;
  out.push(target({
    id: 'qemu-smoke-tproa', description: '`cellctl smoke cells/tproa.yaml --driver qemu` < 60 s (openafs.ko cached)', limit: 60_000, unit: 'ms',
    value: q?.smoke?.code === 0 ? q.smoke.ms : undefined, detail: q ? (q.smoke?.code === 0 ? `apply ${q.apply?.ms} ms as a process; boot to agent ${q.guest?.bootMs} ms (${q.guest?.accel})` : `exit ${q.smoke?.code}`) : r.qemu?.reason,
  }));
  out.push(target({
    id: 'qemu-destroy-tproa', description: '`cellctl destroy cells/tproa.yaml` (qemu) < 5 s', limit: 5000, unit: 'ms',
    value: q?.destroy?.code === 0 ? q.destroy.ms : undefined, detail: q ? `in-process ${q.inprocDestroyMs} ms` : r.qemu?.reason,
  }));
  const applyArgs = ['apply', mid, '--state-dir', '$FRESH', '--quiet'];
  out.push(target({ id: 'sim-apply-1k-process', description: 'sim apply of 1,000 guests as a process < 5 s', limit: 5000, unit: 'ms', value: procMs(r, 1000, 'apply'), profile: applyArgs }));
  out.push(target({ id: 'sim-apply-1k-inproc', description: 'sim apply of 1,000 guests in-process < 5 s', limit: 5000, unit: 'ms', value: inMs(r, 1000, 'apply'), profile: applyArgs }));
  return out;
}

const fmt = (x: number | undefined, w: number) => (x === undefined || !Number.isFinite(x) ? '-' : x >= 100 ? String(Math.round(x)) : x.toFixed(1)).padStart(w);
const mib = (kib: number | undefined) => (kib ? kib / 1024 : undefined);

/** The --driver libvirt figures in one line. */
export function libvirtLine(l: LibvirtBench | undefined): string {
  return l?.available
    ? `libvirt: libvirtd ready cold ${l.libvirtd?.coldMs} ms, warm ${l.libvirtd?.warmMs} ms, stop ${l.libvirtd?.stopMs} ms; root image cold ${l.rootImage?.coldMs} ms (${l.rootImage?.sizeMiB} MiB); guest define ${l.guest?.defineMs} ms, start ${l.guest?.startMs} ms, start to agent ${l.guest?.agentReadyMs} ms (${l.guest?.accel}); live migration of a guest on the root image ${l.migrate?.error ? `failed: ${l.migrate.error}` : `${l.migrate?.ms} ms`}; smoke tproa ${l.smoke?.ms} ms (exit ${l.smoke?.code})${l.twoHosts ? `; tproa-2hosts apply ${l.twoHosts.apply.ms} ms, cellctl migrate ${l.twoHosts.migrate.ms} ms and back ${l.twoHosts.migrateBack.ms} ms, destroy ${l.twoHosts.destroy.ms} ms (exits ${[l.twoHosts.apply, l.twoHosts.migrate, l.twoHosts.migrateBack, l.twoHosts.destroy].map((p) => p.code).join('/')})` : ''}${l.error ? `; ERROR ${l.error}` : ''}`
    : `libvirt: not measured (${l?.reason ?? 'not run'})`;
}

export function renderTable(r: Results): string {
  const lines = [
    `cellctl bench — ${r.date}, node ${r.machine.node}, ${r.machine.cpus} x ${r.machine.model}, load ${r.machine.loadavg.join(' ')}`,
    `node start-up (node -e 0): ${r.nodeStartupMs} ms`,
    '',
    '     N  operation        in-proc ms  (cold)  process ms  ratio→10k   in-proc MiB  process MiB',
  ];
  for (const n of Object.keys(r.sizes).map(Number)) {
    for (const op of OPS) {
      const o = r.sizes[n].ops[op];
      if (!o) continue;
      const cold = o.inproc?.runs?.[0];
      const errs = [o.inproc?.error, o.process?.error].filter(Boolean);
      const ratio = n === 1000 ? ratioStr(r, op) : '';
      lines.push(
        `${String(n).padStart(6)}  ${op.padEnd(15)} ${fmt(inMs(r, n, op), 10)} ${fmt(cold, 7)} ${fmt(procMs(r, n, op), 11)}  ${ratio.padStart(9)} ` +
        `${fmt(mib(o.inproc?.maxRssKiB), 12)} ${fmt(mib(o.process?.rssKiB), 12)}${errs.length ? `  ERROR: ${errs.join('; ').slice(0, 200)}` : ''}`,
      );
    }
    const s = r.sizes[n];
    lines.push(`${''.padStart(6)}  yaml ${(s.yamlBytes / 1024).toFixed(0)} KiB, state ${s.stateBytes ? (s.stateBytes / 1024).toFixed(0) + ' KiB' : '-'}; in-process stages (ms):`);
    for (const op of ['plan-fresh', 'plan-nochange', 'apply']) {
      const b = s.ops[op]?.inproc?.breakdown;
      if (b) lines.push(`${''.padStart(10)}${op}: ${Object.entries(b).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    }
  }
  lines.push('', `cellctl plan cells/tproa.yaml (process): ${fmt(r.tproaPlan?.median, 0).trim()} ms median, ${fmt(mib(r.tproaPlan?.rssKiB), 0).trim()} MiB${r.tproaPlan?.error ? ` ERROR ${r.tproaPlan.error}` : ''}`);
  lines.push(r.netns?.available ? `netns: ${JSON.stringify({ smoke: r.netns.smoke, apply: r.netns.apply, destroy: r.netns.destroy })}` : `netns: not measured (${r.netns?.reason ?? 'not run'})`);
  const q = r.qemu;
  lines.push(q?.available
    ? `qemu (tproa): smoke ${q.smoke?.ms} ms (exit ${q.smoke?.code}), apply ${q.apply?.ms} ms, destroy ${q.destroy?.ms} ms as processes; in-process apply ${q.inprocApplyMs} ms, destroy ${q.inprocDestroyMs} ms; boot to agent ${q.guest?.bootMs} ms (${q.guest?.accel}), afsd ready at guest uptime ${q.guest?.afsdReadyAtUptimeS} s; openafs.ko cached (first build took ${q.openafsKo?.firstBuildS} s)${q.error ? `; ERROR ${q.error}` : ''}\n  steps (ms): ${Object.entries(q.steps ?? {}).map(([k, v]) => `${k} ${v}`).join(', ')}`
    : `qemu: not measured (${q?.reason ?? 'not run'})`);
  lines.push(libvirtLine(r.libvirt));
  lines.push('', 'Targets (reported, not asserted):');
  for (const t of r.targets) {
    const v = t.value === undefined ? 'not measured' : `${t.value}${t.unit === 'ms' ? ' ms' : ''}`;
    lines.push(`  ${t.met === undefined ? '  ?  ' : t.met ? ' met ' : 'MISSED'}  ${t.description}: ${v}${t.detail ? ` (${t.detail})` : ''}`);
  }
  return lines.join('\n');
}

function ratioStr(r: Results, op: string): string {
  const a = inMs(r, 10_000, op);
  const b = inMs(r, 1000, op);
  return a !== undefined && b ? `x${(a / b).toFixed(1)}` : '';
}
