/** Questions on the terminal: the apply confirmation and codes typed by a person. */

import { createInterface } from 'node:readline';
import type { CliIo } from './io.js';

/** Asks one question on stderr and reads a line from stdin; `hidden` does not echo the answer. */
export function ask(io: CliIo, question: string, hidden = false, signal?: AbortSignal): Promise<string> {
  const input = io.stdin ?? process.stdin;
  const output = process.stderr;
  return new Promise((resolveAnswer, reject) => {
    const rl = createInterface({ input, output, terminal: io.interactive });
    if (hidden) {
      // Echo nothing of what is typed: the answer is a code.
      (rl as unknown as { _writeToOutput: (text: string) => void })._writeToOutput = (text: string) => {
        if (text.includes(question)) output.write(question);
      };
    }
    const onAbort = () => {
      rl.close();
      reject(signal?.reason ?? new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    rl.question(question, (answer) => {
      signal?.removeEventListener('abort', onAbort);
      rl.close();
      if (hidden) output.write('\n');
      resolveAnswer(answer.trim());
    });
  });
}
