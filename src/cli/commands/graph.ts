// graph: the plan's DAG in Graphviz DOT.
import { applyGraph, planGraph } from '../../ops/graph.js';
import { graphDot } from '../../render/graph.js';
import { openSession, type Command } from '../command.js';
import { out } from '../output.js';

export const graphCmd: Command = async (args, flags) => {
  const s = openSession(args[0], { ...flags, quiet: true });
  const state = s.readState();
  const p = s.plan(state, { driver: s.driverName(state), destroy: Boolean(flags.destroy), ...(flags.target ? { targets: flags.target } : {}) });
  out(graphDot(flags.type === 'apply' ? applyGraph(p, state) : planGraph(p)));
  return 0;
};
