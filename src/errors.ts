/**
 * Base class of every error a user can cause or fix: a bad manifest, an unreachable server,
 * a rejected key, a store that cannot be read. The CLI prints `message` (and `hint` when set)
 * without a stack trace and exits with `exitCode`; anything else is a bug and shows a trace
 * only with `--debug`.
 */
export class TfaError extends Error {
  /** A stable, machine-readable kind, e.g. `manifest_invalid` or `store_locked`. */
  readonly code: string;
  /** The fix the user can apply, in one sentence. */
  readonly hint: string | undefined;
  readonly exitCode: number;

  constructor(code: string, message: string, options: { hint?: string; cause?: unknown; exitCode?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
  }
}
