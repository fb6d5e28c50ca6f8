import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { constants } from 'node:os';

import { CODE_PATTERN, CodeProviderError, type CodeProvider, type CodeRequest, type ProviderContext } from './code-provider.js';

/** Time between SIGTERM and SIGKILL to the command's process group, in milliseconds. */
const KILL_GRACE_MS = 2_000;
/** Time to wait for the output pipes to close after the shell exits, in milliseconds. */
const DRAIN_AFTER_EXIT_MS = 500;
/** Maximum stdout bytes kept. A code with its newline is 7 bytes, so more means the command prints something else. */
const MAX_STDOUT_BYTES = 64 * 1024;
const STDERR_TAIL_BYTES = 4 * 1024;
const MAX_STDERR_LINE_CHARS = 200;

/** Variables the command does not inherit, because a code reader has no use for them. */
const WITHHELD_VARIABLES = ['TFA_GITOPS_PASSPHRASE'];

/** Result of one command run, with what the provider needs to build one message. */
interface CommandOutcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderrTail: string;
  timedOut: boolean;
  stdoutOverflow: boolean;
  aborted: boolean;
  spawnError: Error | undefined;
}

/**
 * Runs a shell command in the manifest's folder for each code and reads the code from its
 * stdout. The command gets TFA_GITOPS_ACCOUNT, TFA_GITOPS_CHANNEL, TFA_GITOPS_DESTINATION and
 * TFA_GITOPS_SENT_AFTER to find the right message.
 */
export class CommandCodeProvider implements CodeProvider {
  readonly description: string;
  readonly #command: string;
  readonly #timeoutSeconds: number;
  readonly #context: ProviderContext;

  constructor(command: string, timeoutSeconds: number, context: ProviderContext) {
    if (command.trim() === '') {
      throw new CodeProviderError('code_provider_invalid', 'The code provider command is empty.', {
        hint: 'Set command: to the script that prints the code, e.g. ./read-mail.sh.',
      });
    }
    if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
      throw new CodeProviderError('code_provider_invalid', `Invalid timeoutSeconds ${timeoutSeconds} for command "${command}": expected a number above 0.`, {
        hint: 'Set timeoutSeconds to the number of seconds the command may take, e.g. 60.',
      });
    }
    this.#command = command;
    this.#timeoutSeconds = timeoutSeconds;
    this.#context = context;
    this.description = `command "${command}"`;
  }

  async getCode(request: CodeRequest, signal?: AbortSignal): Promise<string> {
    signal?.throwIfAborted();
    await this.#assertBaseDir();

    const outcome = await runCommand(this.#command, {
      cwd: this.#context.baseDir,
      env: this.#commandEnv(request),
      timeoutMs: this.#timeoutSeconds * 1000,
      signal,
    });
    if (outcome.aborted) {
      throw signal?.reason;
    }
    return this.#codeFrom(outcome, request);
  }

  #commandEnv(request: CodeRequest): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...this.#context.env, ...this.#context.extraEnv };
    for (const name of WITHHELD_VARIABLES) {
      delete env[name];
    }
    env['TFA_GITOPS_ACCOUNT'] = request.account;
    env['TFA_GITOPS_CHANNEL'] = request.channel;
    env['TFA_GITOPS_DESTINATION'] = request.destination ?? '';
    env['TFA_GITOPS_SENT_AFTER'] = String(Math.floor(request.sentAfter));
    return env;
  }

  async #assertBaseDir(): Promise<void> {
    const baseDir = this.#context.baseDir;
    const isFolder = await stat(baseDir).then(
      (stats) => stats.isDirectory(),
      () => false,
    );
    if (!isFolder) {
      throw this.#error('code_provider_failed', `cannot start in ${baseDir}, which is not an existing folder`, 'Check the location of the manifest that names the command.');
    }
  }

  /** Returns the code the command printed, or throws the one error that explains why there is none. */
  #codeFrom(outcome: CommandOutcome, request: CodeRequest): string {
    const stderr = lastStderrLine(outcome.stderrTail);
    const stderrSuffix = stderr === '' ? '' : `: ${stderr}`;

    if (outcome.spawnError !== undefined) {
      throw this.#error('code_provider_failed', `could not be started (${outcome.spawnError.message})`, 'Check that /bin/sh exists and that the folder is accessible.');
    }
    if (outcome.timedOut) {
      throw this.#error(
        'code_provider_timeout',
        `timed out after ${this.#timeoutSeconds} s without printing the ${request.channel} code for account "${request.account}"`,
        `Make the command finish sooner, or raise timeoutSeconds in ${request.channel === 'email' ? "the account's emailCodes entry" : "the SMS method's codes entry"} of the manifest.`,
      );
    }
    if (outcome.stdoutOverflow) {
      throw this.#error('code_provider_invalid_code', `printed more than ${MAX_STDOUT_BYTES} bytes on stdout and was stopped`, 'Make the command print only the 6-digit code on stdout, and logs on stderr.');
    }
    if (outcome.signal !== null) {
      throw this.#error('code_provider_failed', `was killed by ${outcome.signal}${stderrSuffix}`, `Run it by hand in ${this.#context.baseDir} to see why.`);
    }
    if (outcome.exitCode === 127) {
      throw this.#error('code_provider_not_found', `was not found (exit code 127)${stderrSuffix}`, `Check the command's path. Relative paths start in ${this.#context.baseDir}.`);
    }
    if (outcome.exitCode === 126) {
      throw this.#error('code_provider_failed', `is not executable (exit code 126)${stderrSuffix}`, 'Make the script executable (chmod +x) or name its interpreter, e.g. sh ./read-mail.sh.');
    }
    if (outcome.exitCode !== 0) {
      const signalName = shellSignalName(outcome.exitCode);
      const reason = signalName === undefined ? '' : `, which the shell reports for ${signalName}`;
      throw this.#error('code_provider_failed', `failed with exit code ${outcome.exitCode}${reason}${stderrSuffix}`, `Run it by hand in ${this.#context.baseDir} to see why.`);
    }

    const code = outcome.stdout.trim();
    if (!CODE_PATTERN.test(code)) {
      throw this.#error(
        'code_provider_invalid_code',
        `printed ${describeOutput(code)} instead of a 6-digit code`,
        'Make the command print only the 6-digit code on stdout, and logs on stderr.',
      );
    }
    return code;
  }

  #error(code: string, what: string, hint: string): CodeProviderError {
    // `what` may end with the command's last stderr line: its own final period goes, so the
    // sentence ends with one. The ellipsis of a cut-short line stays.
    const sentence = `The code provider command "${this.#command}" ${what.trimEnd().replace(/(?<!\.)\.$/, '')}`;
    return new CodeProviderError(code, `${sentence}.`, { hint });
  }
}

/**
 * Runs `command` with /bin/sh in its own process group. On timeout the group gets SIGTERM,
 * then SIGKILL after a grace period, so that children of the shell end too. An abort of
 * `signal` sends SIGKILL at once.
 */
function runCommand(
  command: string,
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number; signal: AbortSignal | undefined },
): Promise<CommandOutcome> {
  const { signal } = options;

  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdoutChunks: Buffer[] = [];
    let stdoutBytes = 0;
    let stderrTail = '';
    const outcome: CommandOutcome = {
      exitCode: null,
      signal: null,
      stdout: '',
      stderrTail: '',
      timedOut: false,
      stdoutOverflow: false,
      aborted: false,
      spawnError: undefined,
    };

    const killGroup = (killSignal: NodeJS.Signals): void => {
      if (child.pid === undefined) {
        return;
      }
      try {
        process.kill(-child.pid, killSignal);
      } catch {
        // ESRCH: the whole group has exited already.
      }
    };
    let killTimer: NodeJS.Timeout | undefined;
    const terminate = (): void => {
      killGroup('SIGTERM');
      // Kept after the shell exits, because a child of the shell may ignore SIGTERM and
      // outlive it. It is not unref'd, so the tool cannot exit before the SIGKILL.
      killTimer ??= setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
    };
    const isGroupGone = (): boolean => {
      try {
        process.kill(-(child.pid ?? 0), 0);
        return false;
      } catch {
        return true;
      }
    };

    const timeoutTimer = setTimeout(() => {
      outcome.timedOut = true;
      terminate();
    }, options.timeoutMs);
    const onAbort = (): void => {
      outcome.aborted = true;
      killGroup('SIGKILL');
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout.on('data', (chunk: Buffer) => {
      if (outcome.stdoutOverflow) {
        return;
      }
      stdoutBytes += chunk.length;
      if (stdoutBytes > MAX_STDOUT_BYTES) {
        outcome.stdoutOverflow = true;
        terminate();
        return;
      }
      stdoutChunks.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
    });

    let drainTimer: NodeJS.Timeout | undefined;
    let settled = false;
    const finish = (): void => {
      if (settled) {
        return;
      }
      settled = true;
      clearTimeout(timeoutTimer);
      clearTimeout(drainTimer);
      if (child.pid !== undefined && isGroupGone()) {
        clearTimeout(killTimer);
      }
      signal?.removeEventListener('abort', onAbort);
      outcome.stdout = Buffer.concat(stdoutChunks).toString('utf8');
      outcome.stderrTail = stderrTail;
      resolve(outcome);
    };

    child.once('error', (error) => {
      outcome.spawnError = error;
      finish();
    });
    let exited = false;
    child.once('exit', (exitCode, exitSignal) => {
      exited = true;
      outcome.exitCode = exitCode;
      outcome.signal = exitSignal;
      // A background child of the shell can keep the pipes open, so stop waiting for them.
      drainTimer = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish();
      }, DRAIN_AFTER_EXIT_MS);
    });
    child.once('close', (exitCode, exitSignal) => {
      if (!exited) {
        outcome.exitCode = exitCode;
        outcome.signal = exitSignal;
      }
      finish();
    });
  });
}

/**
 * Returns the last non-empty stderr line, cut to 200 characters, with runs of 6 or more
 * digits masked in case the command logged the code it was looking for.
 */
function lastStderrLine(stderrTail: string): string {
  const lines = stderrTail.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '');
  const last = (lines.at(-1) ?? '').replace(/\d{6,}/g, '******');
  return last.length > MAX_STDERR_LINE_CHARS ? `${last.slice(0, MAX_STDERR_LINE_CHARS - 3)}...` : last;
}

/** Describes what the command printed without repeating it, because it may contain a code. */
function describeOutput(trimmed: string): string {
  if (trimmed === '') {
    return 'nothing';
  }
  if (/^\d+$/.test(trimmed)) {
    return `${trimmed.length} digits`;
  }
  const lineCount = trimmed.split(/\r?\n/).length;
  return `${trimmed.length} characters on ${lineCount} ${lineCount === 1 ? 'line' : 'lines'}`;
}

/** Returns the signal a POSIX shell means by exit code 128 + N, e.g. SIGKILL for 137. */
function shellSignalName(exitCode: number | null): string | undefined {
  if (exitCode === null || exitCode <= 128) {
    return undefined;
  }
  const signalNumber = exitCode - 128;
  return Object.entries(constants.signals).find(([, number]) => number === signalNumber)?.[0];
}
