// `npm run demo`: starts the emulator, creates an account, and runs plan, apply and plan again
// with the real command, then checks the account and the store. Nothing secret is printed.
// DEMO_DIR=PATH keeps the demo's files (manifest, store, identity, emulator state) there.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'bin', 'tfa-gitops.js');
const dir = process.env.DEMO_DIR ?? mkdtempSync(join(tmpdir(), 'tfa-gitops-demo-'));
mkdirSync(dir, { recursive: true });
cpSync(join(root, 'examples', 'demo'), dir, { recursive: true });

function heading(text) {
  process.stdout.write(`\n==> ${text}\n`);
}

function fail(text) {
  process.stderr.write(`demo failed: ${text}\n`);
  process.exitCode = 1;
}

async function startEmulator() {
  // The emulator logs each request; those lines go to a file so the demo shows the tool's own output.
  const log = openSync(join(dir, 'emulator.log'), 'a');
  const child = spawn(process.execPath, [cli, 'emulator', '--port', '0', '--state', join(dir, 'emulator-state.json')], {
    stdio: ['ignore', 'pipe', log],
  });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise((resolveLine, reject) => {
    lines.once('line', resolveLine);
    child.once('exit', (code) => reject(new Error(`the emulator exited with code ${code}`)));
  });
  const url = /^listening on (\S+)$/.exec(first)?.[1];
  if (!url) throw new Error(`unexpected first line from the emulator: ${first}`);
  return { child, url };
}

function runTool(args, env) {
  process.stdout.write(`\n$ tfa-gitops ${args.join(' ')}\n`);
  const result = spawnSync(process.execPath, [cli, ...args], { cwd: dir, env, stdio: 'inherit' });
  return result.status;
}

heading(`demo folder: ${dir}`);
const emulator = await startEmulator();
try {
  heading(`emulator at ${emulator.url}; creating an account`);
  const created = await fetch(`${emulator.url}/_emulator/accounts`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: 'demo@example.com', email_verified: true }),
  }).then((r) => r.json());
  process.stdout.write(`account #${created.id} (${created.email})\n`);

  const env = { ...process.env, VAST_URL: emulator.url, VAST_API_KEY_DEMO: created.api_key };
  delete env.TFA_GITOPS_PASSPHRASE;
  delete env.TFA_GITOPS_IDENTITY;

  heading('plan: the account has no method, so one create is expected');
  const planned = runTool(['plan', '--detailed-exitcode'], env);
  if (planned !== 2) fail(`plan exited ${planned}, expected 2 (changes)`);

  heading('apply');
  const applied = runTool(['apply', '--auto-approve'], env);
  if (applied !== 0) fail(`apply exited ${applied}`);

  heading('plan again: no changes are expected');
  const again = runTool(['plan', '--detailed-exitcode'], env);
  if (again !== 0) fail(`the second plan exited ${again}, expected 0 (no changes)`);

  heading('checking the account and the store');
  const state = await fetch(`${emulator.url}/_emulator/state`).then((r) => r.json());
  const account = state.accounts.find((a) => a.id === created.id);
  const method = account?.methods.find((m) => m.label === 'ci-bot');
  if (!method || method.method !== 'totp' || !method.is_primary) fail('the account lacks the primary TOTP method "ci-bot"');
  else process.stdout.write(`account: TOTP method "ci-bot" (#${method.id}), primary\n`);

  const storePath = join(dir, '.tfa-gitops', 'secrets.age');
  const identityPath = join(dir, '.tfa-gitops', 'identity.txt');
  const age = spawnSync('age', ['-d', '-i', identityPath, storePath], { encoding: 'utf8' });
  if (age.error) {
    process.stdout.write('store: the age command is not installed, so the store was not decrypted here\n');
  } else if (age.status !== 0) {
    fail(`age -d could not decrypt the store: ${age.stderr.trim()}`);
  } else {
    const record = JSON.parse(age.stdout).accounts?.demo?.record;
    const seedStored = record?.methods.some((m) => m.label === 'ci-bot' && m.state === 'active' && m.seed === method?.secret);
    const codes = record?.backupCodes ?? [];
    const codesMatch = codes.length === 10 && codes.every((c) => account.backup_codes.some((b) => b.code === c.code && !b.used));
    if (!seedStored) fail('the store does not hold the seed of "ci-bot"');
    if (!codesMatch) fail('the store does not hold the account\'s 10 backup codes');
    if (seedStored && codesMatch) {
      process.stdout.write(`store: "age -d" shows the seed of "ci-bot" and 10 backup codes, all matching the account\n`);
    }
  }
  process.stdout.write(`\nInspect the store yourself: age -d -i ${identityPath} ${storePath}\n`);
} finally {
  emulator.child.kill('SIGTERM');
  await new Promise((resolveExit) => emulator.child.once('exit', resolveExit));
}
if (process.exitCode) process.stdout.write('\nThe demo FAILED.\n');
else process.stdout.write('\nThe demo succeeded.\n');
