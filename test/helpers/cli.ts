/** Runs the CLI in-process with captured output, as the binary would run it. */

import type { Readable } from 'node:stream';
import { run } from '../../src/cli/main.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; interactive?: boolean; stdin?: Readable },
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: options.cwd, NO_COLOR: '1', ...options.env };
  const code = await run(args, {
    stdout: { write: (text: string) => void (stdout += text) },
    stderr: { write: (text: string) => void (stderr += text) },
    env,
    cwd: options.cwd,
    interactive: options.interactive ?? false,
    ...(options.stdin ? { stdin: options.stdin } : {}),
  });
  return { code, stdout, stderr };
}
