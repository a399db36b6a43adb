import type { SourcePos } from '../diagnostics.js';

export type Severity = 'error' | 'warning';

/** One compat finding. Errors block apply; warnings don't. Codes are stable (tests and users key on them). */
export interface Finding {
  code: string; // e.g. "module-gpl-only-symbol"
  severity: Severity;
  subject: string; // plan address it is about: "guest.shea", "host.kraken"
  message: string; // worded like the system would say it where possible
  fix?: string;
  pos?: SourcePos;
}

/** What a finding code means, for `cellctl explain` and docs/finding-codes.md; kept beside the rule that reports it. */
export interface CodeDoc {
  code: string;
  severity: Severity;
  title: string; // one line
  explanation: string; // what happened and why the system refuses it
  fix: string; // what to do, in general (each finding names its own concrete fix)
  /** Only `cellctl check-module` reports it (it needs a real .ko and Module.symvers). */
  checkModuleOnly?: boolean;
}
