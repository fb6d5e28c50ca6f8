import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { callApi, enrollTotp, withEmulator } from './helpers/emulator.js';
import { runCli } from './helpers/cli.js';
import { liveAccount, makeFleet, sendWrongCodes } from './helpers/fleet.js';
import { findAll, parseMarkdownTable, parseXml } from './helpers/report-parsers.js';

const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020.js') as new (options: object) => { compile(schema: object): ((data: unknown) => boolean) & { errors?: unknown } };
const root = join(import.meta.dirname, '..', '..');

/** The five drifted accounts and the one finding kind each must show. */
const EXPECTED: Record<string, string> = {
  'svc-03': 'extra-method',
  'svc-11': 'different-method',
  'svc-22': 'missing-method',
  'svc-34': 'backup-codes-below-policy',
  'svc-45': 'locked-method',
};
const DRIFTED = Object.keys(EXPECTED).sort();

async function loadSchema(name: string) {
  const ajv = new Ajv2020({ allErrors: true, allowUnionTypes: true, validateFormats: false });
  return ajv.compile(JSON.parse(await readFile(join(root, 'schemas', name), 'utf8')));
}

test('drift: 50 accounts, 5 drifted', async () => {
  await withEmulator(async (emu) => {
    const fleet = await makeFleet(emu.url, 50);
    const run = (args: string[]) => runCli(args, { cwd: fleet.dir, env: fleet.env });

    const applied = await run(['apply', '-f', 'manifests', '--auto-approve', '--quiet']);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /Apply complete! 50 added, 0 changed, 0 removed\./);

    const clean = await run(['drift', '-f', 'manifests', '--detailed-exitcode']);
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
    assert.match(clean.stdout, /No drift\. All 50 account\(s\) match the manifest\./);

    // Five accounts drift, each in its own way, through the API as another client would.
    const extra = fleet.byName('svc-03');
    await enrollTotp(emu.url, extra.apiKey, 'extra');

    const renamed = fleet.byName('svc-11');
    const renamedMethod = (await liveAccount(emu.url, renamed.id)).methods[0];
    const update = await callApi(emu.url, renamed.apiKey, 'PUT', '/api/v0/tfa/update/', { tfa_method_id: renamedMethod.id, label: 'renamed' });
    assert.equal(update.status, 200);

    const missing = fleet.byName('svc-22');
    const missingLive = await liveAccount(emu.url, missing.id);
    const removal = await callApi(emu.url, missing.apiKey, 'DELETE', '/api/v0/tfa/', {
      backup_code: missingLive.backup_codes[0].code,
      target_id: missingLive.methods[0].id,
    });
    assert.equal(removal.status, 200);

    const spent = fleet.byName('svc-34');
    const spentLive = await liveAccount(emu.url, spent.id);
    for (const { code } of spentLive.backup_codes.slice(0, 3)) {
      assert.equal((await callApi(emu.url, spent.apiKey, 'POST', '/api/v0/tfa/', { backup_code: code })).status, 200);
    }

    const locked = fleet.byName('svc-45');
    const lockedMethod = (await liveAccount(emu.url, locked.id)).methods[0];
    await sendWrongCodes(emu.url, locked.apiKey, lockedMethod.id, lockedMethod.secret, 5);

    // Human.
    const human = await run(['drift', '-f', 'manifests', '--detailed-exitcode']);
    assert.equal(human.code, 2, human.stderr);
    const humanAccounts = [...human.stdout.matchAll(/# account (\S+)/g)].map((m) => m[1]).sort();
    assert.deepEqual(humanAccounts, DRIFTED);
    for (const [account, kind] of Object.entries(EXPECTED)) {
      const block = human.stdout.split(`# account ${account}\n`)[1]?.split('\n\n')[0] ?? '';
      assert.match(block, new RegExp(`! ${kind}: `), `${account} shows ${kind}`);
    }
    assert.match(human.stdout, /Drift: 5 drifted, 45 in sync, 0 failed; 5 finding\(s\)\./);
    assert.match(human.stdout, /label is "renamed", the manifest says "ci-bot"/);
    assert.match(human.stdout, /7 backup codes left, fewer than 8/);
    assert.match(human.stdout, /locked until .* after 5 failed codes/);
    assert.match(human.stdout, /"extra" \(#\d+\) is not in the manifest/);
    assert.match(human.stdout, /labelled "ci-bot" no longer exists/);

    // JSON, checked against its schema.
    const json = await run(['drift', '-f', 'manifests', '--format', 'json', '--detailed-exitcode']);
    assert.equal(json.code, 2, json.stderr);
    const report = JSON.parse(json.stdout);
    const validate = await loadSchema('drift.schema.json');
    assert.ok(validate(report), JSON.stringify(validate.errors, null, 2));
    assert.equal(report.formatVersion, 1);
    assert.equal(report.accounts.length, 50);
    assert.deepEqual(report.summary, { accounts: 50, inSync: 45, drifted: 5, failed: 0, findings: 5 });
    const drifted = report.accounts.filter((a: { status: string }) => a.status === 'drifted');
    assert.deepEqual(drifted.map((a: { account: string }) => a.account).sort(), DRIFTED);
    for (const account of drifted) {
      assert.deepEqual(account.findings.map((f: { kind: string }) => f.kind), [EXPECTED[account.account]]);
    }

    // Markdown: the summary table lists exactly the drifted accounts.
    const markdown = await run(['drift', '-f', 'manifests', '--format', 'markdown', '--detailed-exitcode']);
    assert.equal(markdown.code, 2, markdown.stderr);
    const rows = parseMarkdownTable(markdown.stdout);
    assert.deepEqual(rows.map((r) => r['Account']).sort(), DRIFTED);
    for (const row of rows) {
      assert.equal(row['Result'], 'drifted');
      assert.equal(row['Findings'], '1');
      assert.equal(row['Kinds'], EXPECTED[row['Account'] ?? '']);
    }
    assert.match(markdown.stdout, /45 account\(s\) in sync\./);
    for (const account of DRIFTED) assert.match(markdown.stdout, new RegExp(`^#### \`${account}\`$`, 'm'));

    // JUnit: well formed, one case per account, 5 failures.
    const junit = await run(['drift', '-f', 'manifests', '--format', 'junit', '--detailed-exitcode']);
    assert.equal(junit.code, 2, junit.stderr);
    const document = parseXml(junit.stdout);
    const suites = findAll(document, 'testsuite');
    assert.equal(suites.length, 1);
    assert.equal(suites[0]?.attributes['tests'], '50');
    assert.equal(suites[0]?.attributes['failures'], '5');
    assert.equal(suites[0]?.attributes['errors'], '0');
    const cases = findAll(document, 'testcase');
    assert.equal(cases.length, 50);
    const failing = cases.filter((c) => c.children.some((child) => child.name === 'failure'));
    assert.deepEqual(failing.map((c) => c.attributes['name']).sort(), DRIFTED);
    for (const testCase of failing) {
      const failure = testCase.children.find((child) => child.name === 'failure');
      assert.match(failure?.attributes['message'] ?? '', new RegExp(EXPECTED[testCase.attributes['name'] ?? ''] ?? 'none'));
    }

    // Without --detailed-exitcode drift is not an error.
    const plain = await run(['drift', '-f', 'manifests', '--quiet']);
    assert.equal(plain.code, 0, plain.stderr);
  });
});
