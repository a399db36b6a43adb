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
