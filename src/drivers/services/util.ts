// Small helpers the service layer and both placements share: polling without fixed sleeps, one
// change at a time, the last lines of an output, POSIX shell quoting.

export function lastLines(text: string, n: number): string {
  return text.trim().split('\n').slice(-n).join(' | ');
}

/** Polls fn every intervalMs until it returns true, or throws after timeoutMs (never a fixed sleep). */
export async function until(what: string, timeoutMs: number, fn: () => Promise<boolean>, intervalMs = 250): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await fn()) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(intervalMs);
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** One at a time: Kerberos database changes and their propagation to replicas must not interleave. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/** POSIX sh single-quoting. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
