// The one topological order: Kahn's algorithm, stable with respect to the input order.

export interface DagNode {
  address: string;
  deps: string[]; // addresses that must come first; edges to nodes not in the list are ignored
}

/** Addresses in dependency order (dependencies first). Throws naming the nodes on a cycle. */
export function topoOrder(nodes: readonly DagNode[]): string[] {
  const present = new Set(nodes.map((n) => n.address));
  if (present.size !== nodes.length) {
    // Two resources with one address: a cell the rules should have refused (e.g. colliding names).
    const seen = new Set<string>();
    const twice = [...new Set(nodes.map((n) => n.address).filter((a) => seen.has(a) || !seen.add(a)))];
    throw new Error(`two resources have the same address: ${twice.join(', ')}`);
  }
  const indegree = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const n of nodes) {
    const deps = n.deps.filter((d) => present.has(d) && d !== n.address);
    indegree.set(n.address, deps.length);
    for (const d of deps) {
      const list = dependents.get(d);
      if (list) list.push(n.address);
      else dependents.set(d, [n.address]);
    }
  }
  const ready = nodes.filter((n) => indegree.get(n.address) === 0).map((n) => n.address);
  const out: string[] = [];
  for (let i = 0; i < ready.length; i++) {
    const a = ready[i];
    out.push(a);
    for (const d of dependents.get(a) ?? []) {
      const left = indegree.get(d)! - 1;
      indegree.set(d, left);
      if (left === 0) ready.push(d);
    }
  }
  if (out.length !== present.size) {
    const done = new Set(out);
    throw new Error(`dependency cycle among: ${[...present].filter((a) => !done.has(a)).join(', ')}`);
  }
  return out;
}

/** Reverse edges: for each node, the nodes that depend on it (among the given ones). */
export function dependentsOf(nodes: readonly DagNode[]): Map<string, string[]> {
  const present = new Set(nodes.map((n) => n.address));
  const out = new Map<string, string[]>();
  for (const n of nodes) {
    for (const d of n.deps) {
      if (!present.has(d)) continue;
      const list = out.get(d);
      if (list) list.push(n.address);
      else out.set(d, [n.address]);
    }
  }
  return out;
}
