import { test } from 'node:test';
import assert from 'node:assert/strict';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from './helpers/cli.js';

const root = join(import.meta.dirname, '..', '..');

test('readme: documents every command', async () => {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const help = await runCli(['--help'], { cwd: root });
  const listed = help.stdout.slice(help.stdout.indexOf('Commands:'));
  const commands = [...listed.matchAll(/^ {2}([a-z-]+)\b/gm)].map((match) => match[1] ?? '').filter((name) => name !== 'help');
  assert.ok(commands.includes('import'), help.stdout);
  for (const command of commands) assert.ok(readme.includes(`\`tfa-gitops ${command}`), `README lacks tfa-gitops ${command}`);
  assert.ok(readme.includes('`tfa-gitops store set-api-key'));
});

test('readme: documents plan options', async () => {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const help = await runCli(['plan', '--help'], { cwd: root });
  for (const option of ['--max-deletes', '--rotate']) {
    assert.ok(help.stdout.includes(option), `plan --help lacks ${option}`);
    assert.match(readme, new RegExp(`tfa-gitops plan [^|]*\\[${option} `), `the README's plan row lacks ${option}`);
  }
});

test('readme: emulator endpoints exist', async () => {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const admin = await readFile(join(root, 'src', 'emulator', 'admin.ts'), 'utf8');
  const routes = [...admin.matchAll(/adminRoute\(core, '([A-Z]+)', '([^']+)'/g)].map((match) => `${match[1]} ${match[2]}`);
  assert.equal(routes.length, 4, admin);
  for (const route of routes) assert.ok(readme.includes(`\`${route}\``), `README lacks ${route}`);
});

test('readme: named CI examples exist', async () => {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  for (const name of ['github-actions.yml', '.gitlab-ci.yml']) {
    assert.ok(readme.includes(`\`${name}\``), `README lacks ${name}`);
    await access(join(root, 'examples', 'ci', name));
  }
});
