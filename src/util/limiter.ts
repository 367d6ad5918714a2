/**
 * A FIFO concurrency limit (one model endpoint's requests, one store's claims): a fleet of
 * analysts never has more than `n` requests open at once. A task waiting for a slot can be
 * cancelled through its signal; a running task is the task's own business to cancel.
 */
export type Limiter = <T>(task: () => Promise<T>, signal?: AbortSignal) => Promise<T>;

interface Waiter {
  start: () => void;
}

export function createLimiter(n: number): Limiter {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`Concurrency must be a whole number of at least 1, got ${n}.`);
  }
  let running = 0;
  const queue: Waiter[] = [];

  const release = (): void => {
    const next = queue.shift();
    if (next) next.start();
    else running -= 1;
  };

  /** Resolves once a slot is held; the slot passes directly from a finished task to the next waiter. */
  const acquire = (signal?: AbortSignal): Promise<void> => {
    signal?.throwIfAborted();
    if (running < n) {
      running += 1;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const index = queue.indexOf(waiter);
        if (index >= 0) queue.splice(index, 1);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        start: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      queue.push(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  };

  return async <T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> => {
    await acquire(signal);
    try {
      return await task();
    } finally {
      release();
    }
  };
}
