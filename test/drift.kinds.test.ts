import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { callApi, readState, totpCode, withEmulator } from './helpers/emulator.js';
import { runCli } from './helpers/cli.js';
import { liveAccount, makeFleet } from './helpers/fleet.js';
import { openStore } from '../src/store/open.js';

const DAY = 86_400;

test('drift: stale, lost seed, orphan record', async () => {
  await withEmulator(async (emu) => {
    const fleet = await makeFleet(emu.url, 3);
    const cli = (args: string[]) => runCli(args, { cwd: fleet.dir, env: fleet.env });
    assert.equal((await cli(['apply', '-f', 'manifests', '--auto-approve', '--quiet'])).code, 0);

    // 100 days pass on the server; only svc-01 verifies a code after that.
    emu.setClockOffset(100 * DAY);
    const used = fleet.byName('svc-01');
    const method = (await liveAccount(emu.url, used.id)).methods[0];
    const code = await totpCode(method.secret, (await readState(emu.url)).now);
    const login = await callApi(emu.url, used.apiKey, 'POST', '/api/v0/tfa/', { tfa_method: 'totp', code, tfa_method_id: method.id });
    assert.equal(login.status, 200, JSON.stringify(login.body));

    const store = await openStore(pathToFileURL(join(fleet.dir, '.tfa-gitops', 'secrets.age')).href, { env: {} });
    try {
      const first = await store.read('svc-01');
      const orphan = { ...first.record.methods[0]!, label: 'old-bot', methodId: 999_999 };
      await store.write('svc-01', { ...first.record, methods: [...first.record.methods, orphan] }, first.version);
      const third = await store.read('svc-03');
      await store.write('svc-03', { ...third.record, methods: [] }, third.version);
    } finally {
      await store.close();
    }

    const result = await cli(['drift', '-f', 'manifests', '--format', 'json', '--stale-after', '30', '--detailed-exitcode']);
    assert.equal(result.code, 2, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.staleAfterDays, 30);
    const kinds = Object.fromEntries(
      report.accounts.map((a: { account: string; findings: Array<{ kind: string; fix: string | null }> }) => [a.account, a.findings.map((f) => `${f.kind} ${f.fix}`)]),
    );
    assert.deepEqual(kinds, {
      'svc-01': ['orphan-record null'],
      'svc-02': ['stale-method null'],
      'svc-03': ['seed-missing repair', 'stale-method null'],
    });
    const stale = report.accounts[1].findings[0];
    assert.match(stale.reason, /TOTP method "ci-bot" \(#\d+\) was never used and was added (99|100) days ago, more than the 30-day limit/);

    const withoutLimit = await cli(['drift', '-f', 'manifests', '--format', 'json']);
    const statuses = JSON.parse(withoutLimit.stdout).accounts.map((a: { status: string }) => a.status);
    assert.deepEqual(statuses, ['drifted', 'in-sync', 'drifted']);

    const invalid = await cli(['drift', '-f', 'manifests', '--stale-after', '0']);
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /--stale-after takes a number of days greater than 0/);
  });
});
