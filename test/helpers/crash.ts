/**
 * Crash test tools: run the real `tfa-gitops` binary as a child process (with its clock moved
 * by crash-clock.ts), stop it with SIGKILL at an exact API-call boundary, and read the store
 * it left.
 */

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { DropConnection, type Middleware } from '../../src/emulator/index.js';
import { openStore } from '../../src/store/open.js';
import type { AccountRecord } from '../../src/store/types.js';

/** The repository's `bin/tfa-gitops.js`, which runs the built CLI in dist/. */
const BIN_PATH = fileURLToPath(new URL('../../../bin/tfa-gitops.js', import.meta.url));
const CLOCK_PRELOAD = new URL('./crash-clock.js', import.meta.url).href;

export interface ChildResult {
  /** Exit code, or null when a signal ended the process. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliChild {
  pid: number;
  /** Settles when the process has exited and its output is read. */
  exited: Promise<ChildResult>;
  /** Sends SIGKILL and resolves once the process is gone. */
  kill(): Promise<ChildResult>;
}

/**
 * Starts `tfa-gitops ARGS` as a child process in `cwd`. `clockOffsetMs` moves the child's
 * clock forward; the emulator's clock offset must match it, or the clock check rejects the run.
 */
export function spawnCli(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; clockOffsetMs?: number }): CliChild {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    HOME: options.cwd,
    NO_COLOR: '1',
    ...options.env,
    TFA_TEST_CLOCK_OFFSET_MS: String(options.clockOffsetMs ?? 0),
  };
  const child = spawn(process.execPath, ['--import', CLOCK_PRELOAD, BIN_PATH, ...args], {
    cwd: options.cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<ChildResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });

  if (child.pid === undefined) throw new Error('the CLI child process did not start');
  return {
    pid: child.pid,
    exited,
    kill: () => {
      child.kill('SIGKILL');
      return exited;
    },
  };
}

/** Where a gate stops the chosen request: before its handler runs, or after the handler committed. */
export type KillPoint = 'before' | 'after';

/**
 * An emulator middleware that counts the requests to `/api/v0/` and stops request number
 * `index` at `point` until `release()`. The request then fails as a dropped connection, so
 * the handler never runs for `before`, and its change stays committed for `after`.
 */
export class BoundaryGate {
  /** Requests to `/api/v0/` seen so far. */
  requests = 0;
  readonly middleware: Middleware;
  #target: { index: number; point: KillPoint } | undefined;
  #reached: () => void = () => undefined;
  #release: () => void = () => undefined;
  readonly #reachedPromise: Promise<void>;
  readonly #releasePromise: Promise<void>;

  constructor() {
    this.#reachedPromise = new Promise((resolve) => (this.#reached = resolve));
    this.#releasePromise = new Promise((resolve) => (this.#release = resolve));
    this.middleware = async (_request, route, next) => {
      if (!route.path.startsWith('/api/v0/')) return next();
      this.requests += 1;

      const target = this.#target;
      if (target === undefined || this.requests !== target.index) return next();
      if (target.point === 'after') await next();
      this.#reached();
      await this.#releasePromise;
      throw new DropConnection(`test kill ${target.point} request ${target.index}`);
    };
  }

  /** Chooses the request to stop; call it before the child starts. */
  arm(index: number, point: KillPoint): void {
    this.#target = { index, point };
  }

  /** Resolves when the chosen request reached its point. */
  get reached(): Promise<void> {
    return this.#reachedPromise;
  }

  /** Lets the stopped request end as a dropped connection. */
  release(): void {
    this.#release();
  }
}

/** Reads one account's record from the file store of the workspace `dir`. */
export async function readStoreRecord(dir: string, account = 'acct'): Promise<AccountRecord> {
  const store = await openStore(pathToFileURL(join(dir, '.tfa-gitops', 'secrets.age')).href, { env: {} });
  try {
    return (await store.read(account)).record;
  } finally {
    await store.close();
  }
}
