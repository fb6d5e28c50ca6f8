/** Questions on the terminal: the apply confirmation and codes typed by a person. */

import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import type { CliIo } from './io.js';

/**
 * Asks one question on stderr and reads a line from stdin. With `hidden`, what is typed is not
 * echoed, because the answer is a code.
 */
export function ask(io: CliIo, question: string, hidden = false, signal?: AbortSignal): Promise<string> {
  const input = io.stdin ?? process.stdin;
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      if (!muted) io.stderr.write(chunk.toString());
      callback();
    },
  });

  return new Promise((resolveAnswer, reject) => {
    const rl = createInterface({ input, output, terminal: io.interactive && hidden });
    const onAbort = () => {
      rl.close();
      reject(signal?.reason ?? new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    rl.question(question, (answer) => {
      signal?.removeEventListener('abort', onAbort);
      muted = false;
      rl.close();
      if (hidden) io.stderr.write('\n');
      resolveAnswer(answer.trim());
    });
    muted = hidden;
  });
}
