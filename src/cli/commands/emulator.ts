/** `tfa-gitops emulator`: serves the emulated 2FA API until stopped. */

import { TfaError } from '../../errors.js';
import type { CliIo } from '../io.js';
import { logLine } from '../io.js';

export interface EmulatorFlags {
  port?: string;
  host?: string;
  state?: string;
}

export async function emulatorCommand(flags: EmulatorFlags, io: CliIo): Promise<number> {
  const port = flags.port === undefined ? 8080 : Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TfaError('invalid_port', `invalid --port "${flags.port}"`, { hint: 'pass a port number from 0 to 65535' });
  }

  // Loaded here so that other commands never pay for the emulator's modules.
  const { startEmulator } = await import('../../emulator/index.js');
  const emulator = await startEmulator({
    port,
    host: flags.host ?? '127.0.0.1',
    ...(flags.state ? { statePath: flags.state } : {}),
    // The emulator's log lines are already `event: key=value` lines.
    onLog: (line: string) => io.stderr.write(`${line}\n`),
  });
  io.stdout.write(`listening on ${emulator.url}\n`);

  await new Promise<void>((resolveStop) => {
    if (io.signal?.aborted) resolveStop();
    io.signal?.addEventListener('abort', () => resolveStop(), { once: true });
  });
  await emulator.close();
  logLine(io, 'emulator', { message: 'stopped' });
  return 0;
}
