import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DropConnection, type Middleware } from '../src/emulator/index.js';
import { readOutbox, withEmulator } from './helpers/emulator.js';
import { applyOk, assertConverged, assertInvariants, startScenario } from './helpers/scenario.js';

const CI_BOT = '      - { label: ci-bot, type: totp, primary: true }';

/** Drops the connection once, after the handler of `method path` has committed its change. */
function dropOnce(method: string, path: string): Middleware {
  let dropped = false;
  return async (request, _route, next) => {
    const reply = await next();
    if (!dropped && request.method === method && request.path === path) {
      dropped = true;
      throw new DropConnection('test');
    }
    return reply;
  };
}

test('authorize: lost completion settled by status', async () => {
  await withEmulator(
    async (emu) => {
      const scenario = await startScenario(emu, CI_BOT);
      const result = await applyOk(scenario);
      assert.doesNotMatch(result.stderr, /trying once more/);
      assert.equal((await readOutbox(emu.url, scenario.apiKey)).length, 1, 'one email: the window opened');
      await assertConverged(scenario);
      await assertInvariants(scenario);
    },
    { middlewares: [dropOnce('PUT', '/api/v0/tfa/authorize-new-method/')] },
  );
});

test('authorize: lost request retried once', async () => {
  await withEmulator(
    async (emu) => {
      const scenario = await startScenario(emu, CI_BOT);
      const result = await applyOk(scenario);
      assert.match(result.stderr, /trying once more/);
      assert.equal((await readOutbox(emu.url, scenario.apiKey)).length, 2, 'a second email for the second challenge');
      await assertConverged(scenario);
      await assertInvariants(scenario);
    },
    { middlewares: [dropOnce('POST', '/api/v0/tfa/authorize-new-method/')] },
  );
});
