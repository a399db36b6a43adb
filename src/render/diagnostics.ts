// Errors and findings for machines: terraform's diagnostic shape (`validate -json`), one object each.
import type { Finding } from '../compat/types.js';
import { UserError, type Diagnostic, type SourcePos } from '../diagnostics.js';

export interface JsonDiagnostic {
  severity: 'error' | 'warning';
  /** A finding code; null for input errors. */
  code: string | null;
  summary: string;
  detail: string | null;
  /** The plan address a finding is about. */
  address: string | null;
  range: { filename: string; start: { line: number; column: number } } | null;
}

const range = (pos: SourcePos | undefined) => (pos ? { filename: pos.file, start: { line: pos.line, column: pos.col } } : null);

export function diagnosticJson(d: Diagnostic): JsonDiagnostic {
  return { severity: 'error', code: null, summary: d.message, detail: d.hint ?? null, address: null, range: range(d.pos) };
}

export function findingJson(f: Finding): JsonDiagnostic {
  return { severity: f.severity, code: f.code, summary: f.message, detail: f.fix ? `fix: ${f.fix}` : null, address: f.subject, range: range(f.pos) };
}

/** Any error as diagnostics: a UserError's own, else its message (never a stack). */
export function errorDiagnostics(e: unknown): JsonDiagnostic[] {
  if (e instanceof UserError) return e.diagnostics.map(diagnosticJson);
  return [{ severity: 'error', code: null, summary: e instanceof Error ? e.message : String(e), detail: null, address: null, range: null }];
}

/** `validate --json`: { format_version, valid, error_count, warning_count, diagnostics }, as terraform's. */
export function validateJson(diagnostics: JsonDiagnostic[], cell?: { cell: string; file: string }): object {
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  return {
    format_version: '1.0', valid: errors === 0, error_count: errors, warning_count: diagnostics.length - errors,
    ...(cell ? { cell: cell.cell, file: cell.file } : {}), diagnostics,
  };
}
