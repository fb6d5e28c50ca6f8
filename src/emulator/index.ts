/**
 * An emulator of the Vast.ai 2FA API over real HTTP, for tests, demos and trying a
 * manifest without a real account. Where the real service's behaviour is unknown it takes
 * the stricter reading, so a client that works here also works there.
 */

import type { AddressInfo } from 'node:net';

import { TfaError } from '../errors.js';
import { adminRoutes } from './admin.js';
import { authorizeRoutes } from './authorize.js';
import { createClock } from './clock.js';
import type { EmulatorCore } from './context.js';
import { enrollRoutes } from './enroll.js';
import { EmulatorStateFileError, loadStateFile, saveStateFile } from './persist.js';
import { sendRoutes } from './send.js';
import { createEmulatorServer, type EmulatorRequest, type Middleware } from './server.js';
import { takeSnapshot } from './snapshot.js';
import { createEmptyState, type EmulatorSnapshot } from './state.js';
import { statusRoutes } from './status.js';
import { verifiedActionRoutes } from './verified-actions.js';

export type { EmulatorSnapshot } from './state.js';
export type { ApiErrorCode } from './errors.js';
export type { Middleware, EmulatorRequest, Reply, Route } from './server.js';
export { DropConnection } from './server.js';
export { EmulatorStateFileError } from './persist.js';

export interface EmulatorOptions {
  /** Port to listen on; 0 (the default) picks any free port. */
  port?: number;
  /** Address to listen on; default 127.0.0.1. */
  host?: string;
  /** Loads the state from this file at start when it exists, and saves it there after every change. */
  statePath?: string;
  /** Time source in epoch milliseconds, `Date.now` by default; the clock offset is added on top. */
  now?: () => number;
  /** Receives one `event: key=value` line per request and per caught error; never a secret. */
  onLog?: (line: string) => void;
  /** Middlewares that run in front of every handler; the first one is outermost. */
  middlewares?: Middleware[];
}

export interface RunningEmulator {
  /** Base URL such as `http://127.0.0.1:PORT`. */
  url: string;
  port: number;
  /** Stops listening and closes idle keep-alive sockets, so a test process exits promptly. */
  close(): Promise<void>;
  /** Sets (does not add to) the clock offset in seconds, like `POST /_emulator/clock`. */
  setClockOffset(seconds: number): void;
  /** The same JSON as `GET /_emulator/state`. */
  snapshot(): EmulatorSnapshot;
}

/** The emulator failed to listen on the requested address and port. */
export class EmulatorListenError extends TfaError {
  constructor(host: string, port: number, cause: unknown) {
    const reason = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
    super('emulator_listen_failed', `The emulator cannot listen on ${host}:${port} (${reason}).`, {
      hint: 'Pick another --port, or stop the program that uses this one.',
      cause,
    });
  }
}

/**
 * Starts the emulator and resolves once it listens. Throws EmulatorStateFileError for a
 * state file that cannot be read or written, and EmulatorListenError when the port cannot
 * be used.
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const host = options.host ?? '127.0.0.1';
  const requestedPort = options.port ?? 0;
  const loaded = options.statePath === undefined ? undefined : loadStateFile(options.statePath);
  const core: EmulatorCore = {
    state: loaded?.state ?? createEmptyState(),
    clock: createClock(options.now, loaded?.clockOffsetSeconds ?? 0),
  };

  const saveIfChanged = createSaver(core, options.statePath, loaded !== undefined);
  const server = createEmulatorServer({
    routes: [
      ...statusRoutes(core),
      ...authorizeRoutes(core),
      ...enrollRoutes(core),
      ...sendRoutes(core),
      ...verifiedActionRoutes(core),
      ...adminRoutes(core),
    ],
    clock: core.clock,
    middlewares: options.middlewares ?? [],
    afterHandler: saveIfChanged,
    ...(options.onLog === undefined ? {} : { onLog: options.onLog }),
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new EmulatorListenError(host, requestedPort, error)));
    server.listen(requestedPort, host, () => resolve());
  });
  options.onLog?.(`emulator_started: host=${host} port=${(server.address() as AddressInfo).port}`);

  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => {
          options.onLog?.(`emulator_stopped: port=${port}`);
          if (error === undefined) resolve();
          else reject(error);
        });
        server.closeIdleConnections();
      }),
    setClockOffset(seconds: number) {
      core.clock.setOffsetSeconds(seconds);
      saveIfChanged();
    },
    snapshot: () => takeSnapshot(core),
  };
}

/**
 * Returns a function that writes the state file when the state differs from the last
 * write. When the file is new, it writes it right away so that an unwritable path fails at start.
 */
function createSaver(core: EmulatorCore, statePath: string | undefined, fileExisted: boolean): (request?: EmulatorRequest) => void {
  if (statePath === undefined) return () => undefined;

  const serialize = (): string => {
    const { now: _now, ...rest } = takeSnapshot(core);
    return JSON.stringify(rest, null, 2);
  };

  let lastSaved = serialize();
  if (!fileExisted) {
    try {
      saveStateFile(statePath, lastSaved);
    } catch (error) {
      throw new EmulatorStateFileError(statePath, 'save', (error as Error).message, error);
    }
  }

  return (request) => {
    // A GET only ends expired locks and drops expired challenges, which the first request
    // after a reload does again, so it is not saved. Comparing the whole state after every
    // status read would cost more than the read itself once there are many accounts.
    if (request?.method === 'GET') return;
    const text = serialize();
    if (text === lastSaved) return;
    saveStateFile(statePath, text);
    lastSaved = text;
  };
}
