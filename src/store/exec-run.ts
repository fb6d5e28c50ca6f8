/**
 * Runs a store helper command once: `/bin/sh -c 'COMMAND "$@"' OPERATION` with a JSON request
 * on standard input, and returns the parsed JSON it prints on standard output. Standard output
 * never appears in an error, because it may hold seeds; the tail of standard error does.
 */

import { spawn } from 'node:child_process';

import { StoreError } from './errors.js';
import { errorMessage } from './fs-errors.js';

export interface HelperInvocation {
  /** The command as written after exec://, run by /bin/sh. */
  command: string;
  operation: 'get' | 'store' | 'erase' | 'list';
  request: Record<string, unknown>;
  cwd: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
}

const MAX_STDOUT_BYTES = 16 * 1024 * 1024;
const STDERR_TAIL_CHARS = 400;

/** Runs the helper and returns its parsed response. Throws StoreError naming the command and the operation. */
export async function runHelper(invocation: HelperInvocation): Promise<unknown> {
  const { stdout, stderr, exitCode, signal, timedOut, tooLarge } = await spawnHelper(invocation);
  const name = `"${invocation.command}" (operation ${invocation.operation})`;

  if (timedOut) {
    throw new StoreError('store_helper_timeout', `The store helper ${name} did not finish within ${invocation.timeoutMs / 1000} s and was stopped.`, {
      hint: 'Check that the helper reads its request from standard input and exits, or raise TFA_GITOPS_STORE_TIMEOUT (seconds).',
    });
  }
  if (tooLarge) {
    throw new StoreError('store_helper_invalid', `The store helper ${name} printed more than ${MAX_STDOUT_BYTES} bytes and was stopped.`, {
      hint: 'A helper prints one JSON response on standard output; send diagnostics to standard error.',
    });
  }
  if (exitCode !== 0) {
    const status = signal === null ? `exit code ${exitCode}` : `signal ${signal}`;
    throw new StoreError('store_helper_failed', `The store helper ${name} failed with ${status}${describeStderr(stderr)}.`, {
      hint: 'Run the helper by hand with the same operation to see why; its standard error is shown above.',
    });
  }

  try {
    return JSON.parse(stdout);
  } catch {
    const size = Buffer.byteLength(stdout);
    throw new StoreError('store_helper_invalid', `The store helper ${name} printed ${size} bytes that are not JSON (not shown, because they may hold secrets).`, {
      hint: 'A helper prints exactly one JSON object on standard output; send diagnostics to standard error.',
    });
  }
}

interface HelperResult {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  tooLarge: boolean;
}

function spawnHelper(invocation: HelperInvocation): Promise<HelperResult> {
  return new Promise((resolve, reject) => {
    // "$@" appends the operation as one argument, whatever the command's own quoting.
    // A process group of its own lets a timeout stop the helper's children too.
    const child = spawn('/bin/sh', ['-c', `${invocation.command} "$@"`, 'tfa-gitops-store', invocation.operation], {
      cwd: invocation.cwd,
      env: invocation.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });

    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = '';
    let timedOut = false;
    let tooLarge = false;

    const stop = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // The group is gone already.
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, invocation.timeoutMs);

    child.stdout.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > MAX_STDOUT_BYTES) {
        tooLarge = true;
        stop();
        return;
      }
      stdout.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL_CHARS * 4);
    });
    // A helper that exits without reading its request closes the pipe, so the write fails. Its exit status decides the outcome.
    child.stdin.on('error', () => undefined);

    child.on('error', (error) => {
      clearTimeout(timer);
      reject(
        new StoreError('store_helper_failed', `Cannot start the store helper "${invocation.command}": ${errorMessage(error)}.`, {
          hint: `Check that /bin/sh exists and that the folder ${invocation.cwd} exists.`,
        }),
      );
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(stdout).toString('utf8'), stderr, exitCode, signal, timedOut, tooLarge });
    });

    child.stdin.end(`${JSON.stringify(invocation.request)}\n`);
  });
}

/** Returns ": LAST LINES" of standard error, shortened, or an empty string. */
function describeStderr(stderr: string): string {
  const text = stderr.trim();
  if (text === '') return ' and printed nothing on standard error';

  const tail = text.length > STDERR_TAIL_CHARS ? `...${text.slice(-STDERR_TAIL_CHARS)}` : text;
  return `: ${tail.replace(/\s*\n\s*/g, ' | ')}`;
}
