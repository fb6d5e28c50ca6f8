import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateTotp, totpStep } from '../src/totp/index.js';

const root = join(import.meta.dirname, '..', '..');

function runDemo(dir: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [join(root, 'scripts', 'demo.mjs')], {
      env: { ...process.env, DEMO_DIR: dir, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('close', (code) => resolveRun({ code, output }));
  });
}

/** Finds a code as a whole number in the text, so "123456" does not match inside "91234567". */
function containsCode(text: string, code: string): boolean {
  return new RegExp(`(?<![0-9])${code}(?![0-9])`).test(text);
}

test('demo: succeeds and prints no secret', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tfa-gitops-demo-test-'));
  const started = Date.now() / 1000;
  const { code, output } = await runDemo(dir);
  const finished = Date.now() / 1000;
  assert.equal(code, 0, output);
  assert.match(output, /Plan: 1 to add, 0 to change, 0 to remove\./);
  assert.match(output, /Apply complete! 1 added/);
  assert.match(output, /No changes\. The account matches the manifest\./);
  assert.match(output, /The demo succeeded\./);

  const state = JSON.parse(await readFile(join(dir, 'emulator-state.json'), 'utf8'));
  const [account] = state.accounts;
  const seeds: string[] = account.methods.map((m: { secret: string }) => m.secret);
  const backupCodes: string[] = account.backup_codes.map((c: { code: string }) => c.code);
  const sentCodes: string[] = state.outbox.map((m: { code: string }) => m.code);
  assert.equal(seeds.length, 1);
  assert.equal(backupCodes.length, 10);
  assert.ok(sentCodes.length >= 1, 'the authorization email was sent');

  // Every TOTP code the seed made while the demo ran, one step either side.
  const totpCodes: string[] = [];
  for (let step = totpStep(started) - 1; step <= totpStep(finished) + 1; step++) {
    totpCodes.push(await generateTotp(seeds[0] as string, step * 30));
  }

  for (const secret of [...seeds, ...backupCodes, account.api_key as string]) {
    assert.ok(!output.includes(secret), `the output contains a secret of length ${secret.length}`);
  }
  for (const sent of [...sentCodes, ...totpCodes]) {
    assert.ok(!containsCode(output, sent), 'the output contains a code that was sent');
  }
});
