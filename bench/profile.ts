// Summarise a V8 .cpuprofile (node --cpu-prof): where the time goes, by file:function.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

export interface HotSpot { where: string; selfMs: number; totalMs: number }
export interface ProfileSummary { totalMs: number; self: HotSpot[]; inclusive: HotSpot[] }

function label(cf: CallFrame, root: string): string {
  let file = cf.url;
  if (file.startsWith('file://')) {
    try { file = relative(root, fileURLToPath(file)); } catch { /* keep the URL */ }
  }
  if (file === '') file = '(native)';
  return `${file}:${cf.lineNumber + 1} ${cf.functionName || '(anonymous)'}`;
}

/**
 * Self time per function, and inclusive time (each sample counted once per distinct function on its
 * stack, so recursion is not double counted). `root` makes file names relative to the repository.
 */
export function summariseProfile(file: string, root: string, top = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  const stackKeys = new Map<number, string[]>(); // node id -> distinct labels on its stack, memoised
  const keysOf = (id: number): string[] => {
    const hit = stackKeys.get(id);
    if (hit) return hit;
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) seen.add(label(byId.get(cur)!.callFrame, root));
    const keys = [...seen];
    stackKeys.set(id, keys);
    return keys;
  };
  let totalUs = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i + 1] ?? 0; // a sample's time is the gap to the next one
    totalUs += dt;
    const k = label(byId.get(id)!.callFrame, root);
    self.set(k, (self.get(k) ?? 0) + dt);
    for (const key of keysOf(id)) incl.set(key, (incl.get(key) ?? 0) + dt);
  });
  const spots = (m: Map<string, number>, other: Map<string, number>, isSelf: boolean): HotSpot[] =>
    [...m.entries()]
      .filter(([k]) => !/^\(native\):0 \((root|program|idle)\)$/.test(k))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([where, us]) => ({
        where,
        selfMs: round((isSelf ? us : other.get(where) ?? 0) / 1000),
        totalMs: round((isSelf ? other.get(where) ?? 0 : us) / 1000),
      }));
  return {
    totalMs: round(totalUs / 1000),
    self: spots(self, incl, true),
    // Inclusive: only our own code is interesting (node internals wrap everything).
    inclusive: spots(new Map([...incl].filter(([k]) => /^(dist\/)?(src|bench)\//.test(k))), self, false),
  };
}

const round = (x: number) => Math.round(x * 10) / 10;

export function renderProfile(title: string, s: ProfileSummary): string {
  const lines = [`Profile: ${title} (${s.totalMs} ms sampled)`, '  self ms  total ms  function (self time)'];
  for (const h of s.self) lines.push(`  ${String(h.selfMs).padStart(7)}  ${String(h.totalMs).padStart(8)}  ${h.where}`);
  lines.push('  total ms  function (inclusive, our code)');
  for (const h of s.inclusive) lines.push(`  ${String(h.totalMs).padStart(8)}  ${h.where}`);
  return lines.join('\n');
}
