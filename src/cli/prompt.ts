/** Questions on the terminal: the apply confirmation and codes typed by a person. */

import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { TfaError } from '../errors.js';
import type { CliIo } from './io.js';

/**
 * Asks one question on stderr and reads a line from stdin. With `hidden`, the input is not
 * echoed, because it is a code.
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
    let answered = false;
    const stop = (error: unknown) => {
      if (answered) return;
      answered = true;
      muted = false;
      signal?.removeEventListener('abort', onAbort);
      rl.close();
      io.stderr.write('\n');
      reject(error);
    };
    const onAbort = () => stop(signal?.reason ?? new TfaError('aborted', 'interrupted', { exitCode: 130 }));
    signal?.addEventListener('abort', onAbort, { once: true });

    // In raw terminal mode readline catches Ctrl-C itself, and Ctrl-D closes the input: both
    // end the question, so the run stops cleanly and releases its lock.
    rl.on('SIGINT', () => stop(new TfaError('aborted', 'interrupted at the prompt (Ctrl-C)', { exitCode: 130 })));
    rl.on('close', () =>
      stop(new TfaError('input_closed', 'no answer: standard input was closed', { hint: 'answer on a terminal, or use --auto-approve and an env or command code provider' })),
    );

    rl.question(question, (answer) => {
      if (answered) return;
      answered = true;
      signal?.removeEventListener('abort', onAbort);
      muted = false;
      rl.close();
      if (hidden) io.stderr.write('\n');
      resolveAnswer(answer.trim());
    });
    muted = hidden;
  });
}
