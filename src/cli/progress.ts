/**
 * Progress of a run over several accounts, on stderr. On a terminal it is one line that
 * updates in place. Elsewhere (CI logs) it is a plain `progress:` line at every tenth of the
 * accounts, and every 2 seconds while accounts finish.
 */

import { type CliIo, logLine, type Writer } from './io.js';

export interface Progress {
  /** The io to use while the progress shows: its stderr keeps the terminal line intact. */
  io: CliIo;
  /** Counts one finished account. */
  step(failed: boolean): void;
  /** Clears the terminal line, or writes the last plain line, and stops the timer. */
  finish(): void;
}

export interface ProgressOptions {
  quiet: boolean;
  /** Milliseconds between plain lines while accounts finish; 2000 by default. */
  intervalMs?: number;
}

const CLEAR_LINE = '\r\u001b[2K';

function silent(io: CliIo): Progress {
  return { io, step: () => undefined, finish: () => undefined };
}

/** Starts showing progress for `total` accounts; shows nothing for one account or with --quiet. */
export function startProgress(io: CliIo, phase: string, total: number, options: ProgressOptions): Progress {
  if (options.quiet || total < 2) return silent(io);

  let done = 0;
  let failed = 0;
  const text = () => `${phase}: ${done}/${total} accounts${failed > 0 ? `, ${failed} failed` : ''}`;

  const count = (stepFailed: boolean) => {
    done++;
    if (stepFailed) failed++;
  };
  if (io.stderr.isTTY === true) return terminalProgress(io, text, count);

  let printed = -1;
  let lastTenth = 0;
  const print = () => {
    if (printed === done) return;
    printed = done;
    logLine(io, 'progress', { phase, done, total, failed });
  };
  const timer = setInterval(print, options.intervalMs ?? 2000);
  timer.unref();
  return {
    io,
    step(stepFailed) {
      count(stepFailed);
      const tenth = Math.floor((done * 10) / total);
      if (tenth > lastTenth) {
        lastTenth = tenth;
        print();
      }
    },
    finish() {
      clearInterval(timer);
      print();
    },
  };
}

function terminalProgress(io: CliIo, text: () => string, count: (failed: boolean) => void): Progress {
  const stderr = io.stderr;
  let shown = false;
  const draw = () => {
    stderr.write(`${CLEAR_LINE}${text()}`);
    shown = true;
  };
  // Other stderr output (errors, apply steps) clears the line first and redraws it after.
  const wrapped: Writer = {
    isTTY: true,
    write(chunk: string) {
      if (shown) stderr.write(CLEAR_LINE);
      stderr.write(chunk);
      if (shown) draw();
    },
  };
  draw();
  return {
    io: { ...io, stderr: wrapped },
    step(failed) {
      count(failed);
      draw();
    },
    finish() {
      if (shown) stderr.write(CLEAR_LINE);
      shown = false;
    },
  };
}
