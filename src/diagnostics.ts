// Errors the user can act on. The CLI prints these on one screen, without a stack.

export interface SourcePos {
  file: string;
  line: number; // 1-based
  col: number; // 1-based
}

export interface Diagnostic {
  message: string; // what is wrong and what was expected
  pos?: SourcePos;
  hint?: string; // e.g. "did you mean memory?"
}

export class UserError extends Error {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic[] | string) {
    const list = typeof diagnostics === 'string' ? [{ message: diagnostics }] : diagnostics;
    super(list.map(formatDiagnostic).join('\n'));
    this.name = 'UserError';
    this.diagnostics = list;
  }
}

export function formatPos(pos: SourcePos): string {
  return `${pos.file}:${pos.line}:${pos.col}`;
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = d.pos ? `${formatPos(d.pos)}: ` : '';
  return `${where}${d.message}${d.hint ? ` (${d.hint})` : ''}`;
}
