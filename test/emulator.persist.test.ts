import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { EmulatorStateFileError, startEmulator } from '../src/emulator/index.js';
import { callApi, createAccount, enrollTotp, readOutbox, readState, totpCode } from './helpers/emulator.js';

/** 2030-01-01T00:00:10Z: 10 seconds into a TOTP step. */
const START_MS = Date.UTC(2030, 0, 1, 0, 0, 10);
const START = START_MS / 1000;

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'tfa-gitops-emulator-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('state survives a restart', async () => {
  await withTempDir(async (dir) => {
    const statePath = join(dir, 'state.json');
    const first = await startEmulator({ statePath, now: () => START_MS });
    let account: Awaited<ReturnType<typeof createAccount>>;
    let secret: string;
    let before: any;
    try {
      account = await createAccount(first.url, 'ops@example.com');
      ({ secret } = await enrollTotp(first.url, account.apiKey, 'ci-bot'));
      await callApi(first.url, undefined, 'POST', '/_emulator/clock', { offset_seconds: 30 });
      const login = await callApi(first.url, account.apiKey, 'POST', '/api/v0/tfa/', { tfa_method: 'totp', code: await totpCode(secret, START + 30) });
      assert.equal(login.status, 200);
      before = await readState(first.url);
    } finally {
      await first.close();
    }

    const second = await startEmulator({ statePath, now: () => START_MS });
    try {
      const after = await readState(second.url);
      assert.deepEqual(after, before, 'the whole state, clock offset included, came back');

      const status = await callApi(second.url, account.apiKey, 'GET', '/api/v0/tfa/status/');
      assert.equal(status.status, 200, 'the API key still works');
      assert.equal(status.body.methods[0].label, 'ci-bot');
      assert.equal(status.body.backup_codes_remaining, 10);
      assert.equal((await readOutbox(second.url, account.apiKey)).length, 1);

      const replay = await callApi(second.url, account.apiKey, 'POST', '/api/v0/tfa/', { tfa_method: 'totp', code: await totpCode(secret, START + 30) });
      assert.equal(replay.status, 400, 'the replay guard survived too');
      assert.equal(replay.body.error, '2fa_verification_failed');

      const newAccount = await createAccount(second.url);
      assert.equal(newAccount.id, account.id + 1, 'ids keep counting');
    } finally {
      await second.close();
    }
  });
});

test('state file is private and replaced whole', async () => {
  await withTempDir(async (dir) => {
    const statePath = join(dir, 'state.json');
    const emu = await startEmulator({ statePath });
    try {
      assert.equal((await stat(statePath)).mode & 0o777, 0o600, 'a new file is written at start');
      assert.deepEqual(JSON.parse(await readFile(statePath, 'utf8')).accounts, []);

      await createAccount(emu.url);
      assert.equal(JSON.parse(await readFile(statePath, 'utf8')).accounts.length, 1);

      await createAccount(emu.url);
      assert.deepEqual(await readdir(dir), ['state.json'], 'no temporary file is left behind');

      emu.setClockOffset(120);
      const saved = JSON.parse(await readFile(statePath, 'utf8'));
      assert.equal(saved.clock_offset_seconds, 120, 'setClockOffset saves too');
    } finally {
      await emu.close();
    }
  });
});

test('unreadable state file is a clear error', async () => {
  await withTempDir(async (dir) => {
    const cases: Array<[string, string, RegExp]> = [
      ['not JSON', '{"accounts": [', /not valid JSON/],
      ['wrong version', JSON.stringify({ format_version: 7 }), /format_version/],
      ['broken account', JSON.stringify({ format_version: 1, next_account_id: 2, next_method_id: 1, clock_offset_seconds: 0, accounts: [{ id: 1 }], challenges: [], outbox: [], sms_sends: {} }), /accounts\[0\]/],
    ];

    for (const [name, text, pattern] of cases) {
      const statePath = join(dir, `${name.replace(/ /g, '-')}.json`);
      await writeFile(statePath, text);

      await assert.rejects(startEmulator({ statePath }), (error: unknown) => {
        assert.ok(error instanceof EmulatorStateFileError, name);
        assert.equal(error.code, 'emulator_state_invalid', name);
        assert.ok(error.message.includes(statePath), name);
        assert.match(error.message, pattern, name);
        assert.match(error.hint ?? '', /--state/, name);
        return true;
      });
    }
  });
});

test('unwritable state path fails at start', async () => {
  await withTempDir(async (dir) => {
    const statePath = join(dir, 'missing-folder', 'state.json');

    await assert.rejects(startEmulator({ statePath }), (error: unknown) => {
      assert.ok(error instanceof EmulatorStateFileError);
      assert.match(error.message, /Cannot save the emulator state to/);
      assert.ok(error.message.includes(statePath));
      return true;
    });
  });
});
