/**
 * The CLI's view of the outside world: argv, environment, writers and the terminal. The
 * binary passes the real ones; tests pass their own and run the CLI in-process.
 */

import type { Readable } from 'node:stream';

export interface Writer {
  write(text: string): void;
  /** True when the writer is a terminal; process.stdout and process.stderr set it. */
  isTTY?: boolean;
}

export interface CliIo {
  stdout: Writer;
  stderr: Writer;
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdin?: Readable;
  /** True when stdin and stderr are a terminal, so the CLI may ask questions. */
  interactive: boolean;
  /** Aborted by Ctrl-C: stops requests and waits at once. */
  signal?: AbortSignal;
}

export interface Style {
  bold(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  red(text: string): string;
  dim(text: string): string;
}

function wrap(open: number, close: number): (text: string) => string {
  return (text) => `\u001b[${open}m${text}\u001b[${close}m`;
}

/** Colours only on a terminal and only without NO_COLOR (https://no-color.org). */
export function styleFor(io: CliIo, isTerminal: boolean): Style {
  const noColor = io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== '';
  if (noColor || !isTerminal || io.env.TERM === 'dumb') {
    const same = (text: string) => text;
    return { bold: same, green: same, yellow: same, red: same, dim: same };
  }
  return { bold: wrap(1, 22), green: wrap(32, 39), yellow: wrap(33, 39), red: wrap(31, 39), dim: wrap(2, 22) };
}

/** Writes `event: key=value ...` log lines to stderr; values with spaces are quoted. */
export function logLine(io: CliIo, event: string, fields: Record<string, string | number | undefined> = {}): void {
  const parts = Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => {
      const text = String(value);
      return `${key}=${/[\s"=]/.test(text) ? JSON.stringify(text) : text}`;
    });
  io.stderr.write(`${event}:${parts.length > 0 ? ' ' : ''}${parts.join(' ')}\n`);
}
