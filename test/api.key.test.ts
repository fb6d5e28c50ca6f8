import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { TfaError } from '../src/errors.js';
import { apiKeyFilePath, keyHint, resolveApiKey } from '../src/api/key.js';

let home: string;
let xdg: string;

before(async () => {
  home = await mkdtemp(path.join(tmpdir(), 'tfa-gitops-key-'));
  xdg = path.join(home, 'xdg-config');
});

after(async () => {
  await rm(home, { recursive: true, force: true });
});

async function writeKeyFile(configDir: string, contents: string): Promise<string> {
  const dir = path.join(configDir, 'vastai');
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'vast_api_key');
  await writeFile(file, contents);
  return file;
}

async function removeKeyFiles(): Promise<void> {
  await rm(path.join(home, '.config'), { recursive: true, force: true });
  await rm(xdg, { recursive: true, force: true });
}

describe('resolveApiKey precedence', () => {
  test('flag wins over everything', async () => {
    await writeKeyFile(path.join(home, '.config'), 'from-file\n');

    const found = resolveApiKey({ flag: 'from-flag', env: { VAST_API_KEY: 'from-env' }, homeDir: home });

    assert.deepEqual(found, { key: 'from-flag', source: '--api-key' });
    await removeKeyFiles();
  });

  test('VAST_API_KEY wins over the file', async () => {
    await writeKeyFile(path.join(home, '.config'), 'from-file\n');

    const found = resolveApiKey({ env: { VAST_API_KEY: ' from-env \n' }, homeDir: home });

    assert.deepEqual(found, { key: 'from-env', source: 'VAST_API_KEY' });
    await removeKeyFiles();
  });

  test('empty VAST_API_KEY falls through', async () => {
    const file = await writeKeyFile(path.join(home, '.config'), 'from-file');

    const found = resolveApiKey({ env: { VAST_API_KEY: '' }, homeDir: home });

    assert.deepEqual(found, { key: 'from-file', source: file });
    await removeKeyFiles();
  });

  test('home config file is trimmed', async () => {
    const file = await writeKeyFile(path.join(home, '.config'), '  abc123def456\n\n');

    const found = resolveApiKey({ env: {}, homeDir: home });

    assert.deepEqual(found, { key: 'abc123def456', source: file });
    await removeKeyFiles();
  });

  test('XDG_CONFIG_HOME replaces ~/.config', async () => {
    await writeKeyFile(path.join(home, '.config'), 'from-home-config');
    const file = await writeKeyFile(xdg, 'from-xdg');

    const found = resolveApiKey({ env: { XDG_CONFIG_HOME: xdg }, homeDir: home });

    assert.deepEqual(found, { key: 'from-xdg', source: file });
    await removeKeyFiles();
  });

  test('XDG_CONFIG_HOME without a file finds nothing', async () => {
    await writeKeyFile(path.join(home, '.config'), 'from-home-config');

    const found = resolveApiKey({ env: { XDG_CONFIG_HOME: xdg }, homeDir: home });

    assert.equal(found, undefined);
    await removeKeyFiles();
  });

  test('relative XDG_CONFIG_HOME is ignored', async () => {
    const file = await writeKeyFile(path.join(home, '.config'), 'from-home-config');

    const found = resolveApiKey({ env: { XDG_CONFIG_HOME: 'relative/dir' }, homeDir: home });

    assert.deepEqual(found, { key: 'from-home-config', source: file });
    await removeKeyFiles();
  });

  test('no key anywhere returns undefined', () => {
    assert.equal(resolveApiKey({ env: {}, homeDir: home }), undefined);
  });
});

describe('resolveApiKey errors', () => {
  test('empty flag is rejected', () => {
    assert.throws(
      () => resolveApiKey({ flag: '  ', env: { VAST_API_KEY: 'from-env' }, homeDir: home }),
      (error: unknown) => error instanceof TfaError && error.code === 'api_key_invalid' && /--api-key/.test(error.message),
    );
  });

  test('empty key file is rejected', async () => {
    const file = await writeKeyFile(path.join(home, '.config'), '\n');

    assert.throws(
      () => resolveApiKey({ env: {}, homeDir: home }),
      (error: unknown) => error instanceof TfaError && error.code === 'api_key_invalid' && error.message.includes(file),
    );
    await removeKeyFiles();
  });

  test('key path that is a folder is rejected', async () => {
    const file = apiKeyFilePath({}, home);
    await mkdir(file, { recursive: true });

    assert.throws(
      () => resolveApiKey({ env: {}, homeDir: home }),
      (error: unknown) => error instanceof TfaError && error.code === 'api_key_unreadable' && error.message.includes(file) && /EISDIR/.test(error.message),
    );
    await removeKeyFiles();
  });

  test('unreadable key file is rejected', async (context) => {
    if (process.getuid?.() === 0) {
      context.skip('root reads files whatever their mode');
      return;
    }
    const file = await writeKeyFile(path.join(home, '.config'), 'secret-key-value');
    await chmod(file, 0o000);

    assert.throws(
      () => resolveApiKey({ env: {}, homeDir: home }),
      (error: unknown) =>
        error instanceof TfaError && error.code === 'api_key_unreadable' && error.message.includes('EACCES') && !error.message.includes('secret-key-value'),
    );
    await chmod(file, 0o600);
    await removeKeyFiles();
  });
});

describe('key helpers', () => {
  test('apiKeyFilePath follows XDG', () => {
    assert.equal(apiKeyFilePath({}, '/home/u'), '/home/u/.config/vastai/vast_api_key');
    assert.equal(apiKeyFilePath({ XDG_CONFIG_HOME: '/cfg' }, '/home/u'), '/cfg/vastai/vast_api_key');
    assert.equal(apiKeyFilePath({ XDG_CONFIG_HOME: '' }, '/home/u'), '/home/u/.config/vastai/vast_api_key');
  });

  test('keyHint shows last 4 characters', () => {
    assert.equal(keyHint('0123456789abcdefa3f9'), '...a3f9');
    assert.equal(keyHint('short-key'), '...');
  });
});
