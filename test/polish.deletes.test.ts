import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { enrollTotp, withEmulator } from './helpers/emulator.js';
import { applyOk, startScenario } from './helpers/scenario.js';

const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020.js') as new (options: object) => { compile(schema: object): ((data: unknown) => boolean) & { errors?: unknown } };
const root = join(import.meta.dirname, '..', '..');

const CI_BOT = '      - { label: ci-bot, type: totp, primary: true }';

test('plan: warns over --max-deletes', async () => {
  await withEmulator(async (emu) => {
    const scenario = await startScenario(emu, CI_BOT, '    unmanaged: delete\n');
    await applyOk(scenario);
    await enrollTotp(emu.url, scenario.apiKey, 'stray-1');
    await enrollTotp(emu.url, scenario.apiKey, 'stray-2');

    const human = await scenario.cli(['plan', '--detailed-exitcode']);
    assert.equal(human.code, 2, 'the warning keeps the exit code of a plan with changes');
    assert.match(human.stdout, /Warning: apply stops before changing anything, because this plan removes more methods from an account than --max-deletes 1 allows:/);
    assert.match(human.stdout, /^ {2}! acct: removes 2 methods$/m);
    assert.match(human.stdout, /If the plan is right, apply it with --max-deletes 2\./);

    const allowed = await scenario.cli(['plan', '--max-deletes', '2']);
    assert.equal(allowed.code, 0);
    assert.doesNotMatch(allowed.stdout, /Warning/);

    const markdown = await scenario.cli(['plan', '--format', 'markdown']);
    assert.match(markdown.stdout, /^> \*\*Warning:\*\* apply stops .* than `--max-deletes 1` allows: `acct` \(2\)\. If the plan is right, apply it with `--max-deletes 2`\.$/m);

    const json = await scenario.cli(['plan', '--json']);
    const document = JSON.parse(json.stdout);
    assert.equal(document.maxDeletes, 1);
    assert.deepEqual(document.accountsOverDeleteLimit, ['acct']);
    assert.equal(document.accounts[0].overDeleteLimit, true);
    const ajv = new Ajv2020({ allErrors: true, allowUnionTypes: true, validateFormats: false });
    const validate = ajv.compile(JSON.parse(await readFile(join(root, 'schemas', 'plan.schema.json'), 'utf8')));
    assert.ok(validate(document), JSON.stringify(validate.errors, null, 2));

    const within = JSON.parse((await scenario.cli(['plan', '--json', '--max-deletes', '5'])).stdout);
    assert.equal(within.maxDeletes, 5);
    assert.deepEqual(within.accountsOverDeleteLimit, []);
    assert.equal(within.accounts[0].overDeleteLimit, false);
    assert.equal((await scenario.live()).methods.length, 3, 'plan removed nothing');
  });
});

test('plan: rejects a bad --max-deletes', async () => {
  await withEmulator(async (emu) => {
    const scenario = await startScenario(emu, CI_BOT);
    const result = await scenario.cli(['plan', '--max-deletes', '-1']);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /--max-deletes/);
  });
});
