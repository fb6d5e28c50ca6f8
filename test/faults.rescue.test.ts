import assert from 'node:assert/strict';
import { mkdir, readFile, rename, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';

import type { Middleware } from '../src/emulator/index.js';
import { runCli } from './helpers/cli.js';
import { readStoreRecord } from './helpers/crash.js';
import { createAccount, withEmulator } from './helpers/emulator.js';
import { makeWorkspace, manifestFor } from './helpers/workspace.js';

const ONE_TOTP = '      - { label: ci-bot, type: totp, primary: true }';

test('unstorable backup codes go to a rescue file', async () => {
  const dir = await makeWorkspace(manifestFor(ONE_TOTP));
  const storePath = join(dir, '.tfa-gitops', 'secrets.age');

  // Right after the server committed the first method, whose answer carries the backup codes,
  // a folder takes the store file's place, so the store can be neither read nor written.
  let broken = false;
  const breakStore: Middleware = async (request, route, next) => {
    const reply = await next();
    if (route.path === '/api/v0/tfa/confirm-new/' && reply.status === 200) {
      await rename(storePath, `${storePath}.saved`);
      await mkdir(storePath);
      broken = true;
    }
    return reply;
  };

  await withEmulator(
    async (emu) => {
      const account = await createAccount(emu.url);
      const env = { VAST_URL: emu.url, TEST_API_KEY: account.apiKey };

      const apply = await runCli(['apply', '--auto-approve'], { cwd: dir, env });

      assert.ok(broken, 'the store was broken during the run');
      assert.equal(apply.code, 1);
      const match = /the server issued 10 backup codes for "acct" but the store could not be written \(.*\); they are saved in (\S+), readable by you alone/.exec(apply.stderr);
      assert.ok(match !== null, apply.stderr);
      const rescuePath = match[1] ?? '';
      assert.equal(join(rescuePath, '..'), join(dir, '.tfa-gitops'), 'the file is in the store folder');
      assert.equal((await stat(rescuePath)).mode & 0o777, 0o600);

      const live = emu.snapshot().accounts.find((a) => a.id === account.id);
      const issued = live?.backup_codes.map((c) => c.code) ?? [];
      const rescued = JSON.parse(await readFile(rescuePath, 'utf8')) as { account: string; backupCodes: string[] };
      assert.equal(rescued.account, 'acct');
      assert.deepEqual([...rescued.backupCodes].sort(), [...issued].sort());
      for (const code of issued) {
        assert.ok(!apply.stdout.includes(code), 'no backup code on stdout');
        assert.ok(!apply.stderr.includes(code), 'no backup code on stderr');
      }

      // The store comes back; the lock of the failed run (this process) is released by hand.
      await rmdir(storePath);
      await rename(`${storePath}.saved`, storePath);
      const unlock = await runCli(['unlock', 'acct', '--force'], { cwd: dir, env });
      assert.equal(unlock.code, 0, unlock.stderr);

      const rerun = await runCli(['apply', '--auto-approve'], { cwd: dir, env });
      assert.equal(rerun.code, 0, rerun.stderr);
      assert.match(rerun.stdout, /regenerate backup codes/);
      const record = await readStoreRecord(dir);
      const now = emu.snapshot().accounts.find((a) => a.id === account.id);
      assert.deepEqual(
        record.backupCodes.filter((c) => !c.used).map((c) => c.code).sort(),
        now?.backup_codes.filter((c) => !c.used).map((c) => c.code).sort(),
      );
      assert.equal(record.methods[0]?.seed, now?.methods[0]?.secret);
      assert.equal(record.methods[0]?.state, 'active');
    },
    { middlewares: [breakStore] },
  );
});
