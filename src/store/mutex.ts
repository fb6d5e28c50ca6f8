/** The last queued holder per key: each new caller waits for it before running. */
const queues = new Map<string, Promise<void>>();

/**
 * Runs `task` after every earlier task with the same key has settled, so that tasks of one
 * key run one at a time within this process. A failed task does not block the next one.
 */
export async function runExclusive<T>(key: string, task: () => Promise<T>): Promise<T> {
  const previous = queues.get(key) ?? Promise.resolve();
  let release: () => void = () => undefined;
  const current = new Promise<void>((resolve) => {
    release = resolve;
  });
  const tail = previous.then(() => current);
  queues.set(key, tail);

  await previous;
  try {
    return await task();
  } finally {
    release();
    if (queues.get(key) === tail) {
      queues.delete(key);
    }
  }
}
