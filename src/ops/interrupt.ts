// Ctrl-C aborts a signal instead of killing the process, so state is saved and the lock released.

export async function withInterrupt<T>(run: (signal: AbortSignal) => Promise<T>, onFirst?: () => void): Promise<T> {
  const ac = new AbortController();
  const onSigint = () => {
    if (!ac.signal.aborted) onFirst?.();
    ac.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    return await run(ac.signal);
  } finally {
    process.off('SIGINT', onSigint);
  }
}
