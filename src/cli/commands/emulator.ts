/** `tfa-gitops emulator`: serves the emulated 2FA API until stopped. */

import { TfaError } from '../../errors.js';
import { FAULT_ENDPOINTS, formatFaultSpec, parseFaultSpec } from '../../emulator/faults-spec.js';
import type { CliIo } from '../io.js';
import { logLine } from '../io.js';

export interface EmulatorFlags {
  port?: string;
  host?: string;
  state?: string;
  faults?: string;
}

function wrapNames(names: string[], width = 90): string {
  const lines: string[] = [];
  let line = ' ';
  for (const name of names) {
    if (line.length + name.length + 2 > width) {
      lines.push(line);
      line = ' ';
    }
    line += ` ${name},`;
  }
  lines.push(line.replace(/,$/, ''));
  return lines.join('\n');
}

/** The `--faults` syntax, shown after the emulator command's help. */
export const FAULTS_HELP = `
Fault injection (--faults SPEC): entries separated by ";", for example
  seed=42;503=0.1;429=0.05:retry-after=1;latency=20ms;drop-after-commit=0.05@confirm-new,regen-backup-codes

  seed=N                   seed of the generator, so a run replays (default: random, logged at start)
  503=RATE, 429=RATE       answer 503 or 429 before the handler runs; a 429 sends Retry-After: 1
    :retry-after=S         send Retry-After: S (seconds) with a 503 or 429
  drop-before=RATE         close the connection without running the handler
  drop-after-commit=RATE   run the handler, keep its change, then close the connection unanswered
  latency=DURATION         delay each request: 20ms, 1s, or a range such as 10-50ms

RATE is a probability from 0 to 1 (0.05) or a percentage (5%). Without "@", an entry applies
to every /api/v0/ endpoint; "@NAME,NAME" limits it to the endpoints named, out of:
${wrapNames(Object.keys(FAULT_ENDPOINTS))}
A later entry of the same kind replaces an earlier one on the endpoints it names.
`;

export async function emulatorCommand(flags: EmulatorFlags, io: CliIo): Promise<number> {
  const port = flags.port === undefined ? 8080 : Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TfaError('invalid_port', `invalid --port "${flags.port}"`, { hint: 'pass a port number from 0 to 65535' });
  }

  const faultSpec = flags.faults === undefined ? undefined : parseFaultSpec(flags.faults);

  // Loaded here so that other commands never pay for the emulator's modules.
  const { startEmulator } = await import('../../emulator/index.js');
  const { createFaultInjector } = await import('../../emulator/faults.js');
  // The emulator's log lines are already `event: key=value` lines.
  const onLog = (line: string): void => io.stderr.write(`${line}\n`);
  const injector = faultSpec === undefined ? undefined : createFaultInjector(faultSpec, onLog);
  const emulator = await startEmulator({
    port,
    host: flags.host ?? '127.0.0.1',
    ...(flags.state ? { statePath: flags.state } : {}),
    ...(injector ? { middlewares: [injector.middleware] } : {}),
    onLog,
  });
  io.stdout.write(`listening on ${emulator.url}\n`);
  if (faultSpec !== undefined && injector !== undefined) {
    // The spec is logged with its seed, so that passing it back replays the run.
    logLine(io, 'faults', { spec: formatFaultSpec({ ...faultSpec, seed: injector.seed }) });
  }

  await new Promise<void>((resolveStop) => {
    if (io.signal?.aborted) resolveStop();
    io.signal?.addEventListener('abort', () => resolveStop(), { once: true });
  });
  await emulator.close();
  if (injector !== undefined) {
    const { requests, faults } = injector.counts();
    logLine(io, 'faults', { requests, ...faults });
  }
  logLine(io, 'emulator', { message: 'stopped' });
  return 0;
}
