import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';

import { TfaError } from '../src/errors.js';
import { ManifestError } from '../src/manifest/errors.js';
import { loadManifest } from '../src/manifest/load.js';

const HEADER = 'apiVersion: tfa-gitops/v1\nkind: TwoFactorManifest\n';

/** Builds a one-account manifest whose methods list is `methods`, each line indented by six spaces. */
function oneAccount(methods: string, accountExtra = ''): string {
  return `${HEADER}accounts:\n  - name: ml-prod\n${accountExtra}    methods:\n${methods}`;
}

interface BadCase {
  name: string;
  /** File contents by path relative to the test folder; the first is loaded unless `load` is set. */
  files: Record<string, string>;
  load?: string[];
  code?: string;
  file: string;
  line?: number;
  column?: number;
  /** Fragments the first problem's message must contain: the value, the fix. */
  mentions: string[];
  /** Total number of problems expected, when it matters. */
  problems?: number;
}

const cases: BadCase[] = [
  {
    name: 'unquoted phone number',
    files: {
      'tfa-gitops.yaml': oneAccount(
        '      - label: oncall\n        type: sms\n        phone: +12125551234\n        codes: prompt\n',
      ),
    },
    file: 'tfa-gitops.yaml', line: 8, column: 16,
    mentions: ['phone in accounts[0].methods[0] must be a string', 'the number 12125551234', 'write it in quotes: "+12125551234"'],
    problems: 1,
  },
  {
    name: 'unquoted code with leading zero',
    files: {
      'tfa-gitops.yaml': oneAccount('      - { label: ci-bot, type: totp }\n', '    emailCodes: { env: 012345 }\n'),
    },
    file: 'tfa-gitops.yaml', line: 5, column: 24,
    mentions: ['env in accounts[0].emailCodes must be a string', 'the number 12345', 'write it in quotes: "012345"'],
  },
  {
    name: 'numeric label',
    files: { 'tfa-gitops.yaml': oneAccount('      - label: 0042\n        type: totp\n') },
    file: 'tfa-gitops.yaml', line: 6, column: 16,
    mentions: ['label in accounts[0].methods[0] must be a string', 'write it in quotes: "0042"'],
  },
  {
    name: 'duplicate key',
    files: { 'tfa-gitops.yaml': oneAccount('      - label: ci-bot\n        type: totp\n        label: other\n') },
    file: 'tfa-gitops.yaml', line: 8, column: 9,
    mentions: ['duplicate key "label" in accounts[0].methods[0]', 'already set at line 6', 'keep one'],
  },
  {
    name: 'duplicate label',
    files: {
      'tfa-gitops.yaml': oneAccount('      - { label: ci-bot, type: totp }\n      - { label: ci-bot, type: totp }\n'),
    },
    file: 'tfa-gitops.yaml', line: 7, column: 18,
    mentions: ['label "ci-bot" is used twice in account "ml-prod"', 'lines 6 and 7', 'give each method its own label'],
  },
  {
    name: 'two primary methods',
    files: {
      'tfa-gitops.yaml': oneAccount(
        '      - label: a\n        type: totp\n        primary: true\n      - label: b\n        type: totp\n        primary: true\n',
      ),
    },
    file: 'tfa-gitops.yaml', line: 11, column: 18,
    mentions: ['marks two methods primary', '"a" (line 8)', '"b" (line 11)', 'remove primary: true from one'],
  },
  {
    name: 'label over 30 characters',
    files: { 'tfa-gitops.yaml': oneAccount('      - label: this-label-is-longer-than-thirty-chars\n        type: totp\n') },
    file: 'tfa-gitops.yaml', line: 6, column: 16,
    mentions: ['label "this-label-is-longer-than-thirty-chars"', 'is 38 characters long', 'the limit is 30'],
  },
  {
    name: 'unknown key with suggestion',
    files: { 'tfa-gitops.yaml': oneAccount('      - lable: ci-bot\n        type: totp\n') },
    file: 'tfa-gitops.yaml', line: 6, column: 9,
    mentions: ['unknown key "lable" in accounts[0].methods[0]', 'did you mean "label"?'],
    // The missing "label" is the same mistake, so it is not reported again.
    problems: 1,
  },
  {
    name: 'unknown key without suggestion',
    files: { 'tfa-gitops.yaml': oneAccount('      - { label: ci-bot, type: totp }\n', '    colour: blue\n') },
    file: 'tfa-gitops.yaml', line: 5, column: 5,
    mentions: ['unknown key "colour" in accounts[0]', 'the keys allowed there are name, apiKey'],
  },
  {
    name: 'unknown top-level key',
    files: { 'tfa-gitops.yaml': `${HEADER}acounts:\n  - name: ml-prod\n` },
    file: 'tfa-gitops.yaml', line: 3, column: 1,
    mentions: ['unknown key "acounts" at the top level', 'did you mean "accounts"?'],
    problems: 1,
  },
  {
    name: 'empty file',
    files: { 'tfa-gitops.yaml': '# nothing yet\n' },
    file: 'tfa-gitops.yaml', line: 1, column: 1,
    mentions: ['the file is empty', 'apiVersion: tfa-gitops/v1'],
  },
  {
    name: 'several documents',
    files: { 'tfa-gitops.yaml': `${HEADER}accounts: []\n---\n${HEADER}` },
    file: 'tfa-gitops.yaml', line: 4, column: 1,
    mentions: ['more than one YAML document', 'remove this "---" separator', 'own file'],
  },
  {
    name: 'top-level list',
    files: { 'tfa-gitops.yaml': '- name: ml-prod\n' },
    file: 'tfa-gitops.yaml', line: 1, column: 1,
    mentions: ['the top level is a list, not a map', 'kind: TwoFactorManifest'],
  },
  {
    name: 'top-level scalar',
    files: { 'tfa-gitops.yaml': '\n  just words\n' },
    file: 'tfa-gitops.yaml', line: 2, column: 3,
    mentions: ['the top level is a single value, not a map'],
  },
  {
    name: 'YAML syntax error',
    files: { 'tfa-gitops.yaml': `${HEADER}accounts:\n  - name: ml-prod\n   methods: []\n` },
    file: 'tfa-gitops.yaml', line: 5, column: 1,
    mentions: ['invalid YAML: sequence item without - indicator'],
  },
  {
    name: 'tab indentation',
    files: { 'tfa-gitops.yaml': `${HEADER}accounts:\n\t- name: ml-prod\n` },
    file: 'tfa-gitops.yaml', line: 4, column: 1,
    mentions: ['invalid YAML', 'indented with a tab', 'indent with spaces'],
  },
  {
    name: 'missing file',
    files: { 'other.yaml': HEADER },
    load: ['tfa-gitops.yaml'],
    code: 'manifest_not_found',
    file: 'tfa-gitops.yaml',
    mentions: ['manifest file not found', 'pass -f PATH', 'tfa-gitops.yaml in the current folder'],
  },
  {
    name: 'duplicate account names across files',
    files: {
      'manifests/a.yaml': oneAccount('      - { label: ci-bot, type: totp }\n'),
      'manifests/b.yaml': `${HEADER}accounts:\n  - name: staging\n    methods: [{ label: x, type: totp }]\n` +
        '  - name: ml-prod\n    methods: [{ label: y, type: totp }]\n',
    },
    load: ['manifests'],
    file: join('manifests', 'b.yaml'), line: 6, column: 11,
    mentions: ['account name "ml-prod" is used twice', `at ${join('manifests', 'a.yaml')}:4 and here`, 'rename or remove one'],
  },
  {
    name: 'duplicate account names in one file',
    files: {
      'tfa-gitops.yaml': `${HEADER}accounts:\n  - { name: ml-prod, methods: [{ label: x, type: totp }] }\n` +
        '  - { name: ml-prod, methods: [{ label: y, type: totp }] }\n',
    },
    file: 'tfa-gitops.yaml', line: 5, column: 13,
    mentions: ['account name "ml-prod" is used twice, at tfa-gitops.yaml:4 and here'],
  },
  {
    name: 'empty methods without allowDisable',
    files: { 'tfa-gitops.yaml': oneAccount('      []\n') },
    file: 'tfa-gitops.yaml', line: 6, column: 7,
    mentions: ['methods in accounts[0] is empty', 'disable two-factor authentication on account "ml-prod"', 'allowDisable: true'],
  },
  {
    name: 'missing required key',
    files: { 'tfa-gitops.yaml': oneAccount('      - label: ci-bot\n') },
    file: 'tfa-gitops.yaml', line: 6, column: 9,
    mentions: ['missing key "type" in accounts[0].methods[0]', 'add type: totp'],
  },
  {
    name: 'sms method without phone',
    files: { 'tfa-gitops.yaml': oneAccount('      - label: oncall\n        type: sms\n        codes: prompt\n') },
    file: 'tfa-gitops.yaml', line: 6, column: 9,
    mentions: ['missing key "phone"', 'which an sms method needs', 'add phone: "+12125551234"'],
  },
  {
    name: 'phone on a totp method',
    files: { 'tfa-gitops.yaml': oneAccount('      - label: ci-bot\n        type: totp\n        phone: "+12125551234"\n') },
    file: 'tfa-gitops.yaml', line: 8, column: 9,
    mentions: ['key "phone" applies only to sms methods', 'has type: totp', 'set type: sms'],
  },
  {
    name: 'rotateAfterDays on an sms method',
    files: {
      'tfa-gitops.yaml': oneAccount(
        '      - label: oncall\n        type: sms\n        phone: "+12125551234"\n        codes: prompt\n        rotateAfterDays: 30\n',
      ),
    },
    file: 'tfa-gitops.yaml', line: 10, column: 9,
    mentions: ['key "rotateAfterDays" applies only to totp methods', 'remove rotateAfterDays'],
  },
  {
    name: 'method type in capitals',
    files: { 'tfa-gitops.yaml': oneAccount('      - label: ci-bot\n        type: TOTP\n') },
    file: 'tfa-gitops.yaml', line: 7, column: 15,
    mentions: ['type in accounts[0].methods[0] must be one of totp, sms, not "TOTP"', 'did you mean "totp"?'],
  },
  {
    name: 'phone not in E.164 form',
    files: {
      'tfa-gitops.yaml': oneAccount('      - label: oncall\n        type: sms\n        phone: "212-555-1234"\n        codes: prompt\n'),
    },
    file: 'tfa-gitops.yaml', line: 8, column: 16,
    mentions: ['phone "212-555-1234"', 'not an E.164 phone number', '"+12125551234"'],
  },
  {
    name: 'invalid account name',
    files: { 'tfa-gitops.yaml': `${HEADER}accounts:\n  - name: ML Prod\n    methods: [{ label: x, type: totp }]\n` },
    file: 'tfa-gitops.yaml', line: 4, column: 11,
    mentions: ['name "ML Prod" in accounts[0] is not a valid account name', 'lowercase letters'],
  },
  {
    name: 'wrong apiVersion',
    files: { 'tfa-gitops.yaml': `apiVersion: tfa-gitops/v2\nkind: TwoFactorManifest\naccounts:\n  - { name: a, methods: [] , allowDisable: true }\n` },
    file: 'tfa-gitops.yaml', line: 1, column: 13,
    mentions: ['apiVersion must be tfa-gitops/v1, not "tfa-gitops/v2"'],
  },
  {
    name: 'backup code minimum out of range',
    files: { 'tfa-gitops.yaml': oneAccount('      - { label: ci-bot, type: totp }\n', '    backupCodes: { minRemaining: 11 }\n') },
    file: 'tfa-gitops.yaml', line: 5, column: 34,
    mentions: ['minRemaining in accounts[0].backupCodes is 11', 'at most 10'],
  },
  {
    name: 'code provider with two sources',
    files: {
      'tfa-gitops.yaml': oneAccount('      - { label: ci-bot, type: totp }\n', '    emailCodes: { env: CODE, command: ./read.sh }\n'),
    },
    file: 'tfa-gitops.yaml', line: 5, column: 17,
    mentions: ['emailCodes in accounts[0] sets env and command', 'keep one of them'],
  },
  {
    name: 'code provider misspelt as a word',
    files: { 'tfa-gitops.yaml': oneAccount('      - { label: ci-bot, type: totp }\n', '    emailCodes: ask\n') },
    file: 'tfa-gitops.yaml', line: 5, column: 17,
    mentions: ['emailCodes in accounts[0] must be prompt', 'not "ask"'],
  },
  {
    name: 'empty apiKey',
    files: { 'tfa-gitops.yaml': oneAccount('      - { label: ci-bot, type: totp }\n', '    apiKey: {}\n') },
    file: 'tfa-gitops.yaml', line: 5, column: 13,
    mentions: ['apiKey in accounts[0] is empty', 'set one of env, file or store'],
  },
  {
    name: 'quoted boolean',
    files: { 'tfa-gitops.yaml': oneAccount('      - { label: ci-bot, type: totp }\n', '    allowDisable: "true"\n') },
    file: 'tfa-gitops.yaml', line: 5, column: 19,
    mentions: ['allowDisable in accounts[0] must be true or false, not the string "true"', 'remove the quotes'],
  },
  {
    name: 'YAML 1.1 boolean',
    files: { 'tfa-gitops.yaml': `%YAML 1.1\n---\n${oneAccount('      - { label: ci-bot, type: totp, primary: yes }\n')}` },
    file: 'tfa-gitops.yaml', line: 8, column: 47,
    mentions: ['primary in accounts[0].methods[0] must be true or false, not the string "yes"', 'write true or false'],
  },
  {
    name: 'repeated verifier',
    files: { 'tfa-gitops.yaml': oneAccount('      - { label: ci-bot, type: totp }\n', '    verifyWith: [totp, sms, totp]\n') },
    file: 'tfa-gitops.yaml', line: 5, column: 17,
    mentions: ['verifyWith in accounts[0] lists "totp" twice', 'list each one once'],
  },
  {
    name: 'two phone numbers alike',
    files: {
      'tfa-gitops.yaml': oneAccount(
        '      - { label: a, type: sms, phone: "+12125551234", codes: prompt }\n' +
          '      - { label: b, type: sms, phone: "+12125551234", codes: prompt }\n',
      ),
    },
    file: 'tfa-gitops.yaml', line: 7, column: 39,
    mentions: ['phone "+12125551234" is used by two sms methods', 'lines 6 and 7'],
  },
  {
    name: 'alias without anchor',
    files: { 'tfa-gitops.yaml': oneAccount('      - *missing\n') },
    file: 'tfa-gitops.yaml', line: 6, column: 9,
    mentions: ['alias *missing refers to no anchor', 'define &missing'],
  },
  {
    name: 'key that is a list',
    files: { 'tfa-gitops.yaml': `${HEADER}? [a, b]\n: 1\naccounts: []\n` },
    file: 'tfa-gitops.yaml', line: 3, column: 3,
    mentions: ['a key at the top level is a list or a map', 'plain words'],
  },
  {
    name: 'alias expansion limit',
    files: {
      'tfa-gitops.yaml': 'a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n' +
        'c: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n',
    },
    file: 'tfa-gitops.yaml', line: 1, column: 1,
    mentions: ['expands aliases more than 100 times', 'write the values out'],
  },
  {
    name: 'stores that differ between files',
    files: {
      'm/a.yaml': `${HEADER}store: file://a.age\naccounts:\n  - { name: a, methods: [{ label: x, type: totp }] }\n`,
      'm/b.yaml': `${HEADER}store: vault://kv/tfa\naccounts:\n  - { name: b, methods: [{ label: x, type: totp }] }\n`,
    },
    load: ['m'],
    file: join('m', 'b.yaml'), line: 3, column: 8,
    mentions: ['store "vault://kv/tfa" differs from the store set at', 'must name the same store'],
  },
];

const folders: string[] = [];
after(async () => {
  await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
});

async function writeFiles(files: Record<string, string>): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'tfa-gitops-manifest-'));
  folders.push(folder);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(folder, path)), { recursive: true });
    await writeFile(join(folder, path), text);
  }
  return folder;
}

async function loadError(folder: string, paths: string[]): Promise<ManifestError> {
  try {
    await loadManifest(paths, { cwd: folder });
  } catch (error) {
    if (error instanceof ManifestError) return error;
    throw error;
  }
  assert.fail('loadManifest accepted an invalid manifest');
}

describe('manifest errors', () => {
  for (const badCase of cases) {
    test(badCase.name, async () => {
      const folder = await writeFiles(badCase.files);
      const paths = badCase.load ?? [Object.keys(badCase.files)[0] ?? ''];

      const error = await loadError(folder, paths);

      assert.ok(error instanceof TfaError);
      assert.equal(error.code, badCase.code ?? 'manifest_invalid');
      assert.equal(error.exitCode, 1);
      assert.equal(error.file, badCase.file);
      assert.equal(error.line, badCase.line);
      assert.equal(error.column, badCase.column);
      const first = error.problems[0]?.message ?? '';
      for (const fragment of badCase.mentions) assert.ok(first.includes(fragment), `"${first}" lacks "${fragment}"`);
      if (badCase.problems !== undefined) assert.equal(error.problems.length, badCase.problems, error.message);

      const location = badCase.line === undefined ? `${badCase.file}: ` : `${badCase.file}:${badCase.line}:${badCase.column}: `;
      assert.ok(error.message.startsWith(location), error.message);
      assert.doesNotMatch(error.message, /\n\s+at /, 'the message contains a stack trace');
      assert.doesNotMatch(error.message, /must NOT|must have required property|instancePath/, 'the message uses ajv wording');
    });
  }
});

describe('manifest error message', () => {
  test('shows excerpt and caret', async () => {
    const folder = await writeFiles({ 'tfa-gitops.yaml': oneAccount('      - lable: ci-bot\n        type: totp\n') });

    const error = await loadError(folder, ['tfa-gitops.yaml']);

    assert.equal(
      error.message,
      'tfa-gitops.yaml:6:9: unknown key "lable" in accounts[0].methods[0]; did you mean "label"?\n' +
        '   6 |       - lable: ci-bot\n' +
        '     |         ^',
    );
    assert.equal(error.format(), error.message);
  });

  test('excerpt without carriage return', async () => {
    const folder = await writeFiles({ 'tfa-gitops.yaml': oneAccount('      - lable: ci-bot\n        type: totp\n').replace(/\n/g, '\r\n') });

    const error = await loadError(folder, ['tfa-gitops.yaml']);

    assert.equal(error.problems[0]?.excerpt, '   6 |       - lable: ci-bot\n     |         ^');
  });

  test('lists every problem in source order', async () => {
    const folder = await writeFiles({
      'tfa-gitops.yaml': oneAccount(
        '      - label: ci-bot\n        type: totp\n        primry: true\n      - label: oncall\n        type: sms\n' +
          '        phone: +12125551234\n        codes: prompt\n',
        '    unmanaged: remove\n',
      ),
    });

    const error = await loadError(folder, ['tfa-gitops.yaml']);

    assert.deepEqual(
      error.problems.map((problem) => [problem.line, problem.column]),
      [[5, 16], [9, 9], [12, 16]],
    );
    assert.match(error.problems[0]?.message ?? '', /unmanaged in accounts\[0\] must be one of report, delete, not "remove"/);
    assert.match(error.problems[1]?.message ?? '', /unknown key "primry".*did you mean "primary"\?/);
    assert.match(error.problems[2]?.message ?? '', /write it in quotes: "\+12125551234"/);
    assert.equal(error.message.split('\n\n').length, 3);
  });

  test('shows at most ten problems', async () => {
    const methods = Array.from({ length: 12 }, (_, index) => `      - { label: m${index}, type: totp, colour: red }\n`).join('');
    const folder = await writeFiles({ 'tfa-gitops.yaml': oneAccount(methods) });

    const error = await loadError(folder, ['tfa-gitops.yaml']);

    assert.equal(error.problems.length, 12);
    assert.equal(error.message.match(/unknown key "colour"/g)?.length, 10);
    assert.match(error.message, /\(2 more problems not shown\)$/);
  });
});
