// `cellctl state show` for people (terraform's layout) and machines.
import type { RecordedResource } from '../ops/state.js';
import type { Json } from '../plan/resources.js';
import { SENSITIVE_ATTRS } from '../plan/sensitive.js';

function attrLines(attrs: Record<string, Json>, indent: string): string[] {
  const width = Math.max(0, ...Object.keys(attrs).map((k) => k.length));
  return Object.entries(attrs).map(([k, v]) => `${indent}${k.padEnd(width)} = ${JSON.stringify(v)}`);
}

export function renderStateShow({ address, record }: RecordedResource): string[] {
  const name = address.slice(record.type.length + 1);
  const lines = [`# ${address}:`, `resource "${record.type}" "${name}" {`, ...attrLines(record.attrs, '    ')];
  for (const k of SENSITIVE_ATTRS[record.type] ?? []) lines.push(`    ${k} = (sensitive value, kept in secrets.json)`);
  if (record.outputs && Object.keys(record.outputs).length) lines.push('', '    # reported by the driver', ...attrLines(record.outputs, '    '));
  lines.push('}');
  if (record.deps.length) lines.push(`# depends on: ${record.deps.join(', ')}`);
  return lines;
}

export function stateShowJson({ address, record }: RecordedResource): object {
  return {
    address, type: record.type, name: address.slice(record.type.length + 1),
    attributes: record.attrs, sensitive_attributes: SENSITIVE_ATTRS[record.type] ?? [], outputs: record.outputs ?? {}, dependencies: record.deps,
  };
}
