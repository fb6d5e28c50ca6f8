import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { ManifestError } from '../src/manifest/errors.js';
import { loadManifest } from '../src/manifest/load.js';
import type { DesiredAccount } from '../src/manifest/types.js';

const HEADER = 'apiVersion: tfa-gitops/v1\nkind: TwoFactorManifest\n';

const FULL_MANIFEST = `${HEADER}store: file://state/secrets.age
accounts:
  - name: ml-prod
    apiKey: { file: keys/ml-prod.txt }
    emailCodes: { command: ./read-mail.sh }
    methods:
      - label: ci-bot
        type: totp
        primary: true
        rotateAfterDays: 90
      - label: oncall
        type: sms
        phone: "+12125551234"
        codes: { command: ./read-sms.sh, timeoutSeconds: 15 }
    backupCodes: { minRemaining: 3 }
    unmanaged: delete
    verifyWith: [backupCode, totp]
  - name: staging.eu_1
    apiKey: { env: VAST_API_KEY_STAGING }
    emailCodes: prompt
    methods:
      - { label: pager, type: sms, phone: "+442071838750", codes: { env: SMS_CODE } }
      - { label: desk, type: totp }
  - name: sandbox
    apiKey: { store: sandbox/api-key }
    emailCodes: { prompt: true }
    methods: []
    allowDisable: true
`;

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

function oneAccountManifest(name: string, extra = ''): string {
  return `${HEADER}${extra}accounts:\n  - name: ${name}\n    methods: [{ label: ci-bot, type: totp }]\n`;
}

describe('loadManifest', () => {
  test('valid manifest to typed state', async () => {
    const folder = await writeFiles({ 'tfa-gitops.yaml': FULL_MANIFEST });
    const at = (line: number, column: number) => ({ file: 'tfa-gitops.yaml', line, column });

    const manifest = await loadManifest(['tfa-gitops.yaml'], { cwd: folder });

    assert.deepEqual(manifest.files, ['tfa-gitops.yaml']);
    assert.equal(manifest.store, pathToFileURL(join(folder, 'state', 'secrets.age')).href);
    const expected: DesiredAccount[] = [
      {
        name: 'ml-prod',
        apiKey: { file: join(folder, 'keys', 'ml-prod.txt') },
        emailCodes: { kind: 'command', command: './read-mail.sh', timeoutSeconds: 60 },
        methods: [
          { type: 'totp', label: 'ci-bot', primary: true, rotateAfterDays: 90, position: at(9, 9) },
          {
            type: 'sms',
            label: 'oncall',
            primary: false,
            phone: '+12125551234',
            codes: { kind: 'command', command: './read-sms.sh', timeoutSeconds: 15 },
            position: at(13, 9),
          },
        ],
        backupCodes: { minRemaining: 3 },
        unmanaged: 'delete',
        verifyWith: ['backupCode', 'totp'],
        allowDisable: false,
        baseDir: folder,
        position: at(5, 5),
      },
      {
        name: 'staging.eu_1',
        apiKey: { env: 'VAST_API_KEY_STAGING' },
        emailCodes: { kind: 'prompt' },
        methods: [
          {
            type: 'sms',
            label: 'pager',
            primary: false,
            phone: '+442071838750',
            codes: { kind: 'env', name: 'SMS_CODE' },
            position: at(24, 9),
          },
          { type: 'totp', label: 'desk', primary: false, position: at(25, 9) },
        ],
        unmanaged: 'report',
        verifyWith: ['totp', 'sms', 'email', 'backupCode'],
        allowDisable: false,
        baseDir: folder,
        position: at(20, 5),
      },
      {
        name: 'sandbox',
        apiKey: { store: 'sandbox/api-key' },
        emailCodes: { kind: 'prompt' },
        methods: [],
        unmanaged: 'report',
        verifyWith: ['totp', 'sms', 'email', 'backupCode'],
        allowDisable: true,
        baseDir: folder,
        position: at(26, 5),
      },
    ];
    assert.deepEqual(manifest.accounts, expected);
  });

  test('example manifest loads', async () => {
    const examplePath = fileURLToPath(new URL('../../examples/tfa-gitops.yaml', import.meta.url));
    const text = await readFile(examplePath, 'utf8');

    const manifest = await loadManifest([examplePath]);

    assert.equal(text.split('\n')[0], '# yaml-language-server: $schema=../schemas/manifest.schema.json');
    assert.equal(manifest.store, pathToFileURL(join(dirname(examplePath), '.tfa-gitops', 'secrets.age')).href);
    assert.equal(manifest.accounts.length, 1);
    const account = manifest.accounts[0];
    assert.equal(account?.name, 'ml-prod');
    assert.deepEqual(account?.apiKey, { env: 'VAST_API_KEY_ML_PROD' });
    assert.equal(account?.emailCodes?.kind, 'command');
    assert.deepEqual(account?.backupCodes, { minRemaining: 3 });
    assert.equal(account?.unmanaged, 'report');
    assert.deepEqual(
      account?.methods.map((method) => [method.type, method.label, method.primary]),
      [['totp', 'ci-bot', true]],
    );
  });

  test('default file in working folder', async () => {
    const folder = await writeFiles({ 'tfa-gitops.yaml': oneAccountManifest('ml-prod') });

    const manifest = await loadManifest([], { cwd: folder });

    assert.deepEqual(manifest.files, ['tfa-gitops.yaml']);
    assert.equal(manifest.store, pathToFileURL(join(folder, '.tfa-gitops', 'secrets.age')).href);
    assert.deepEqual(manifest.accounts.map((account) => account.name), ['ml-prod']);
  });

  test('folder read in name order', async () => {
    const folder = await writeFiles({
      'manifests/b-team.yaml': oneAccountManifest('team-b'),
      'manifests/a-team.yml': oneAccountManifest('team-a'),
      'manifests/c-team.yaml': oneAccountManifest('team-c', 'store: file://../shared.age\n'),
      'manifests/notes.txt': 'not a manifest',
      'manifests/.draft.yaml': 'not: [valid',
      'manifests/nested/d-team.yaml': oneAccountManifest('team-d'),
    });

    const manifest = await loadManifest(['manifests'], { cwd: folder });

    assert.deepEqual(manifest.files, [
      join('manifests', 'a-team.yml'),
      join('manifests', 'b-team.yaml'),
      join('manifests', 'c-team.yaml'),
    ]);
    assert.deepEqual(manifest.accounts.map((account) => account.name), ['team-a', 'team-b', 'team-c']);
    assert.deepEqual(manifest.accounts.map((account) => account.position.file), manifest.files);
    // Only c-team.yaml sets the store, relative to its own folder.
    assert.equal(manifest.store, pathToFileURL(join(folder, 'shared.age')).href);
  });

  test('files and folder given together', async () => {
    const folder = await writeFiles({
      'one/a.yaml': oneAccountManifest('alpha'),
      'two/b.yaml': oneAccountManifest('beta', 'store: file:///srv/tfa/secrets.age\n'),
    });

    const manifest = await loadManifest(['two/b.yaml', 'one', 'one/a.yaml'], { cwd: folder });

    assert.deepEqual(manifest.files, [join('two', 'b.yaml'), join('one', 'a.yaml')]);
    assert.deepEqual(manifest.accounts.map((account) => [account.name, account.baseDir]), [
      ['beta', join(folder, 'two')],
      ['alpha', join(folder, 'one')],
    ]);
    assert.equal(manifest.store, 'file:///srv/tfa/secrets.age');
  });

  test('store schemes other than file unchanged', async () => {
    for (const store of ['vault://kv/tfa-gitops', 'exec://./store-helper', 'env://TFA_SECRETS']) {
      const folder = await writeFiles({ 'tfa-gitops.yaml': oneAccountManifest('ml-prod', `store: ${store}\n`) });

      const manifest = await loadManifest(['tfa-gitops.yaml'], { cwd: folder });

      assert.equal(manifest.store, store);
    }
  });

  test('paths outside working folder stay absolute', async () => {
    const folder = await writeFiles({ 'tfa-gitops.yaml': `${HEADER}accounts:\n  - name: ml-prod\n    lable: x\n` });
    const elsewhere = await writeFiles({});
    const path = join(folder, 'tfa-gitops.yaml');

    await assert.rejects(loadManifest([path], { cwd: elsewhere }), (error: unknown) => {
      assert.ok(error instanceof ManifestError);
      assert.equal(error.file, path);
      assert.ok(error.message.startsWith(`${path}:4:5: missing key "methods" in accounts[0]`), error.message);
      assert.ok(error.message.includes(`\n\n${path}:5:5: unknown key "lable" in accounts[0]`), error.message);
      return true;
    });
  });

  test('byte order mark ignored', async () => {
    const folder = await writeFiles({ 'tfa-gitops.yaml': `\uFEFF${HEADER}accounts:\n  - { name: a, methods: [], colour: red }\n` });

    await assert.rejects(loadManifest(['tfa-gitops.yaml'], { cwd: folder }), (error: unknown) => {
      assert.ok(error instanceof ManifestError);
      // The empty methods list; the mark would shift it to column 26 if it were counted.
      assert.equal(error.line, 4);
      assert.equal(error.column, 25);
      return true;
    });
  });

  test('aliases point at their anchor', async () => {
    const folder = await writeFiles({
      'tfa-gitops.yaml': `${HEADER}accounts:
  - name: prod
    methods:
      - &bot { label: ci-bot, type: totp }
  - name: staging
    methods:
      - *bot
`,
    });

    const manifest = await loadManifest(['tfa-gitops.yaml'], { cwd: folder });

    const staging = manifest.accounts[1];
    assert.equal(staging?.methods[0]?.label, 'ci-bot');
    assert.deepEqual(staging?.methods[0]?.position, { file: 'tfa-gitops.yaml', line: 6, column: 14 });
  });

  test('empty folder rejected', async () => {
    const folder = await writeFiles({ 'manifests/readme.txt': 'no yaml here' });

    await assert.rejects(loadManifest(['manifests'], { cwd: folder }), (error: unknown) => {
      assert.ok(error instanceof ManifestError);
      assert.equal(error.code, 'manifest_not_found');
      assert.equal(error.message, 'manifests: the folder contains no *.yaml or *.yml file; add a manifest to it, or pass -f PATH to read another one');
      return true;
    });
  });

  test('folder named like a manifest rejected', async () => {
    const folder = await writeFiles({ 'manifests/real/a.yaml': oneAccountManifest('ml-prod') });
    await symlink(join(folder, 'manifests', 'real'), join(folder, 'manifests', 'linked.yaml'));

    await assert.rejects(loadManifest(['manifests'], { cwd: folder }), (error: unknown) => {
      assert.ok(error instanceof ManifestError);
      assert.equal(error.code, 'manifest_unreadable');
      assert.match(error.message, /^manifests\/linked\.yaml: cannot read the manifest: the path is a folder, not a file/);
      return true;
    });
  });

  test('unreadable file rejected', async (context) => {
    if (process.getuid?.() === 0) {
      context.skip('root reads files whatever their mode');
      return;
    }
    const folder = await writeFiles({ 'tfa-gitops.yaml': oneAccountManifest('ml-prod') });
    await chmod(join(folder, 'tfa-gitops.yaml'), 0o000);

    await assert.rejects(loadManifest([], { cwd: folder }), (error: unknown) => {
      assert.ok(error instanceof ManifestError);
      assert.equal(error.code, 'manifest_unreadable');
      assert.match(error.message, /^tfa-gitops\.yaml: cannot read the manifest: permission denied/);
      return true;
    });
  });
});
