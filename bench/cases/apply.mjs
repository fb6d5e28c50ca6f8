/**
 * `tfa-gitops apply --auto-approve` enrolling one TOTP method on each of N fresh accounts,
 * which the emulator creates for every run. Each account's first method is authorized by
 * an emailed code, which a code provider command reads from the emulator's outbox, as a
 * pipeline would read a mailbox. Reported: API calls and waits for a new TOTP step per
 * account, and the wall time against the CPU time the emulator process spent.
 */

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { accountNames, writeFreshWorkspace } from '../lib/fleet.mjs';
import { CLI, ROOT } from '../lib/paths.mjs';
import { expectSuccess, runNode } from '../lib/measure.mjs';
import { summarize } from '../lib/stats.mjs';
import { PARALLELISM } from './plan.mjs';

const READER = join(ROOT, 'bench', 'lib', 'read-email-code.mjs');

/**
 * API calls a first TOTP enrollment needs: status, authorize-new-method POST and PUT,
 * totp-setup, confirm-new, and a status read for the new method's id.
 */
export const CALLS_TARGET = 6;

/** Waits for a new TOTP step allowed per account. */
export const WAITS_TARGET = 1;

/** The line the executor logs each time it waits for a new TOTP step. */
const WAIT_LINE = /^apply: account=(\S+) step="waited \d+s for a new TOTP step/;

async function createAccounts(url, count) {
  const accounts = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      const response = await fetch(`${url}/_emulator/accounts`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email_verified: true }),
      });
      if (!response.ok) throw new Error(`creating an emulator account failed with HTTP ${response.status}`);
      const { api_key: apiKey } = await response.json();
      accounts[index] = { ...accountNames(index + 1), apiKey };
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLELISM, count) }, worker));
  return accounts;
}

/** Runs the case against the running `emulator`, in a new folder under `tempDir` per run. */
export async function applyCase({ count, emulator, env, tempDir, warmups, runs }) {
  const readerScript = await readFile(READER, 'utf8');
  const wall = [];
  const emulatorCpu = [];
  const emulatorHandler = [];
  let maxCalls = 0;
  let totalCalls = 0;
  let maxWaits = 0;
  let totalWaits = 0;
  let peakRss = 0;

  for (let run = 0; run < warmups + runs; run++) {
    const accounts = await createAccounts(emulator.url, count);
    const workspace = join(tempDir, `apply-${count}-${run}`);
    const keys = await writeFreshWorkspace(workspace, accounts, readerScript);

    await emulator.command('reset');
    const result = await runNode([CLI, 'apply', '--auto-approve'], {
      cwd: workspace,
      env: { ...env, ...keys, VAST_URL: emulator.url },
      tempDir,
      usage: true,
    });
    const stats = await emulator.command('stats');
    expectSuccess(result, `tfa-gitops apply on ${count} fresh accounts`);
    if (!result.stdout.includes(`Apply complete! ${count} added`)) {
      throw new Error(`tfa-gitops apply did not add ${count} methods:\n${result.stdout.slice(-2000)}`);
    }
    if (run < warmups) continue;

    const waits = new Map();
    for (const line of result.stderr.split('\n')) {
      const account = WAIT_LINE.exec(line)?.[1];
      if (account !== undefined) waits.set(account, (waits.get(account) ?? 0) + 1);
    }
    for (const account of accounts) {
      const calls = stats.byKey[account.apiKey] ?? 0;
      maxCalls = Math.max(maxCalls, calls);
      totalCalls += calls;
      const accountWaits = waits.get(account.name) ?? 0;
      maxWaits = Math.max(maxWaits, accountWaits);
      totalWaits += accountWaits;
    }

    wall.push(result.ms);
    emulatorCpu.push(stats.cpuMs);
    emulatorHandler.push(stats.handlerMs);
    peakRss = Math.max(peakRss, result.maxRssBytes ?? 0);
  }

  const wallSummary = summarize(wall);
  const cpuSummary = summarize(emulatorCpu);
  const enrolled = count * runs;
  return {
    name: `apply-${count}`,
    title: `apply enrolling one TOTP method on each of ${count} fresh accounts, ${PARALLELISM} at a time`,
    tool: { label: 'tfa-gitops apply', ...wallSummary, maxRssBytes: peakRss },
    floor: { label: "emulator's CPU time", ...cpuSummary },
    ratio: wallSummary.median / cpuSummary.median,
    emulatorHandlerMs: summarize(emulatorHandler).median,
    callsPerAccount: { max: maxCalls, mean: totalCalls / enrolled },
    waitsPerAccount: { max: maxWaits, mean: totalWaits / enrolled },
    targets: [
      { what: 'API calls per account (max)', value: maxCalls, max: CALLS_TARGET, unit: 'count' },
      { what: 'TOTP step waits per account (max)', value: maxWaits, max: WAITS_TARGET, unit: 'count' },
    ],
  };
}
