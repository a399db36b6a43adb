// `cellctl graph`: the nodes and edges of a plan, drawn by render/graph.ts. --type plan: every
// resource and what it depends on; --type apply: the steps the engine runs and what each waits for.
import { planSteps } from '../engine/execute.js';
import type { Action, Plan } from '../plan/types.js';
import type { CellState } from '../state/types.js';

export interface GraphNode { id: string; label: string; action?: Action | 'no-op'; phase?: 'delete' | 'create' }
/** from depends on (or waits for) to. */
export interface GraphEdge { from: string; to: string }
export interface Graph { name: string; nodes: GraphNode[]; edges: GraphEdge[] }

export function planGraph(p: Plan): Graph {
  const action = new Map(p.changes.map((c) => [c.address, c.action]));
  const present = new Set(p.desired.map((r) => r.address));
  return {
    name: p.cell,
    nodes: p.desired.map((r) => ({ id: r.address, label: r.address, action: action.get(r.address) ?? 'no-op' })),
    edges: p.desired.flatMap((r) => r.deps.filter((d) => present.has(d)).map((d) => ({ from: r.address, to: d }))),
  };
}

export function applyGraph(p: Plan, state: CellState | undefined): Graph {
  const { deletes, creates, waits } = planSteps(p, state ?? { version: 1, cell: p.cell, file: p.file, driver: '', serial: 0, resources: {} });
  const id = (phase: string, address: string) => `${phase}:${address}`;
  const steps = [...deletes, ...creates];
  const nodes = steps.map((s) => ({ id: id(s.phase, s.address), label: `${s.phase === 'delete' ? 'destroy' : s.action} ${s.address}`, action: s.action, phase: s.phase }));
  const present = new Set(nodes.map((n) => n.id));
  const edges = steps.flatMap((s) => (waits.get(id(s.phase, s.address)) ?? []).filter((w) => present.has(w)).map((w) => ({ from: id(s.phase, s.address), to: w })));
  // A replacement is created after it is destroyed; creates start after every delete (the engine's two phases).
  for (const s of creates) if (s.action === 'replace') edges.push({ from: id('create', s.address), to: id('delete', s.address) });
  return { name: p.cell, nodes, edges };
}
