/**
 * The request count of a first TOTP enrollment, which the benchmark reports per account:
 * the protocol needs six calls, and the executor reuses the plan's status read only when no
 * other run can have changed the account since.
 */

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';

import { VastClient } from '../src/api/client.js';
import type { CodeProvider } from '../src/apply/code-provider.js';
import { applyAccount, MAX_STATUS_BASIS_AGE_MS, type StatusBasis } from '../src/apply/executor.js';
import type { Middleware } from '../src/emulator/index.js';
import { loadManifest } from '../src/manifest/load.js';
import { planAccount } from '../src/plan/planner.js';
import { openStore } from '../src/store/open.js';
import { TotpCodeSource } from '../src/totp/index.js';
import { runCli } from './helpers/cli.js';
import { createAccount, latestCode, withEmulator } from './helpers/emulator.js';
import { makeWorkspace, manifestFor } from './helpers/workspace.js';

const CI_BOT = '      - { label: ci-bot, type: totp, primary: true }';

/** Records `METHOD PATH` of every API request, in the order the emulator received them. */
function callRecorder(): { calls: string[]; middleware: Middleware } {
  const calls: string[] = [];
  const middleware: Middleware = (request, _route, next) => {
    if (request.path.startsWith('/api/')) calls.push(`${request.method} ${request.path}`);
    return next();
  };
  return { calls, middleware };
}

test('first TOTP enrollment takes six calls', async () => {
  const recorder = callRecorder();
  await withEmulator(
    async (emu) => {
      const account = await createAccount(emu.url);
      const dir = await makeWorkspace(manifestFor(CI_BOT));

      const apply = await runCli(['apply', '--auto-approve'], { cwd: dir, env: { VAST_URL: emu.url, TEST_API_KEY: account.apiKey } });

      assert.equal(apply.code, 0, apply.stderr);
      assert.deepEqual(recorder.calls, [
        'GET /api/v0/tfa/status/',
        'POST /api/v0/tfa/authorize-new-method/',
        'PUT /api/v0/tfa/authorize-new-method/',
        'POST /api/v0/tfa/totp-setup/',
        'POST /api/v0/tfa/confirm-new/',
        'GET /api/v0/tfa/status/',
      ]);
      assert.doesNotMatch(apply.stderr, /waited \d+s for a new TOTP step/);
    },
    { middlewares: [recorder.middleware] },
  );
});

/** The plan's status read as the executor gets it: the cases where it may and may not stand in. */
const BASIS_CASES: { name: string; basis: (read: StatusBasis) => StatusBasis | undefined; statusReads: number }[] = [
  { name: 'fresh basis is reused', basis: (read) => read, statusReads: 1 },
  { name: 'no basis reads again', basis: () => undefined, statusReads: 2 },
  { name: 'other writer reads again', basis: (read) => ({ ...read, storeVersion: read.storeVersion - 1 }), statusReads: 2 },
  { name: 'old basis reads again', basis: (read) => ({ ...read, readAtMs: read.readAtMs - MAX_STATUS_BASIS_AGE_MS - 1_000 }), statusReads: 2 },
];

for (const testCase of BASIS_CASES) {
  test(`executor: ${testCase.name}`, async () => {
    const recorder = callRecorder();
    await withEmulator(
      async (emu) => {
        const account = await createAccount(emu.url);
        const dir = await makeWorkspace(manifestFor(CI_BOT));
        const manifest = await loadManifest([join(dir, 'tfa-gitops.yaml')], { cwd: dir });
        const desired = manifest.accounts[0];
        assert.ok(desired !== undefined);
        const store = await openStore(pathToFileURL(join(dir, '.tfa-gitops', 'secrets.age')).href, { env: {} });
        try {
          const client = new VastClient({ baseUrl: emu.url, apiKey: account.apiKey });
          const stored = await store.read(desired.name);
          const observed = await client.getStatus();
          const plan = planAccount({ desired, observed, stored: stored.record, nowSeconds: Date.now() / 1000 });
          const emailCodes: CodeProvider = { description: 'outbox', getCode: () => latestCode(emu.url, account.apiKey, 'email') };
          recorder.calls.length = 0;

          const basis = testCase.basis({ observed, storeVersion: stored.version, readAtMs: Date.now() });
          const result = await applyAccount(plan, desired, client, { store, codes: new TotpCodeSource(), providerFor: () => emailCodes }, undefined, basis);

          assert.equal(result.error, undefined, String(result.error));
          assert.deepEqual(result.done, ['create totp method "ci-bot"']);
          const statusReads = recorder.calls.filter((call) => call === 'GET /api/v0/tfa/status/').length;
          assert.equal(statusReads, testCase.statusReads, recorder.calls.join(', '));
        } finally {
          await store.close();
        }
      },
      { middlewares: [recorder.middleware] },
    );
  });
}
