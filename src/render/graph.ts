// Graphs as Graphviz DOT (`cellctl graph CELL.yaml | dot -Tsvg`).
import type { Graph } from '../ops/graph.js';

const COLOUR: Record<string, string> = { create: 'darkgreen', update: 'darkorange', replace: 'purple', delete: 'red3', 'no-op': 'gray40' };
const q = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

export function graphDot(g: Graph): string {
  const lines = [
    `digraph ${q(g.name)} {`,
    '  rankdir = "RL";',
    '  node [shape = "box", fontname = "monospace"];',
  ];
  for (const n of g.nodes) {
    const colour = n.phase === 'delete' ? COLOUR.delete : COLOUR[n.action ?? 'no-op'];
    lines.push(`  ${q(n.id)} [label = ${q(n.label)}, color = ${q(colour)}, fontcolor = ${q(colour)}];`);
  }
  for (const e of g.edges) lines.push(`  ${q(e.from)} -> ${q(e.to)};`);
  lines.push('}');
  return lines.join('\n');
}
