// The one masking helper: every known secret value is replaced before text leaves cellctl
// (errors, check output, JUnit, logs). Values shorter than MIN_SECRET would mask ordinary words.

const MIN_SECRET = 4;
export const MASK = '(sensitive)';

export class Masker {
  private readonly values = new Set<string>();

  constructor(values: Iterable<string> = []) {
    this.add(...values);
  }

  add(...vs: string[]): void {
    for (const v of vs) if (v && v.length >= MIN_SECRET) this.values.add(v);
  }

  mask(text: string): string {
    let t = text;
    // Longest first, so a secret containing another is masked whole.
    for (const v of [...this.values].sort((a, b) => b.length - a.length)) t = t.split(v).join(MASK);
    return t;
  }

  /** An Error whose message is masked (the original is dropped, with its stack). */
  error(e: unknown): Error {
    return new Error(this.mask(e instanceof Error ? e.message : String(e)));
  }
}
