import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { callApi, withEmulator } from './helpers/emulator.js';
import { liveAccount, makeFleet, type Fleet } from './helpers/fleet.js';
import { findAll, parseMarkdownTable, parseXml } from './helpers/report-parsers.js';

const root = join(import.meta.dirname, '..', '..');
const EXAMPLES = join(root, 'examples', 'ci');

/** Returns the lines of a shell script that run the tool, as a test can run them. */
function toolLines(script: unknown): string[] {
  if (typeof script !== 'string') return [];
  return script
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('tfa-gitops '));
}

/** Puts a `tfa-gitops` command on PATH that runs this checkout's binary. */
async function installShim(dir: string): Promise<string> {
  const bin = join(dir, 'shim-bin');
  await mkdir(bin, { recursive: true });
  const shim = join(bin, 'tfa-gitops');
  await writeFile(shim, `#!/bin/sh\nexec "${process.execPath}" "${join(root, 'bin', 'tfa-gitops.js')}" "$@"\n`);
  await chmod(shim, 0o755);
  return bin;
}

/** Runs one command line with /bin/sh in the fleet's folder, as a CI runner would. */
function runLine(line: string, fleet: Fleet, bin: string, extraEnv: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolveRun) => {
    const child = spawn('/bin/sh', ['-c', line], {
      cwd: fleet.dir,
      env: { PATH: `${bin}:${process.env.PATH}`, HOME: fleet.dir, NO_COLOR: '1', ...fleet.env, ...extraEnv },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => resolveRun({ code, stderr }));
  });
}

async function runAll(lines: readonly string[], fleet: Fleet, bin: string, env: NodeJS.ProcessEnv, expected: number): Promise<void> {
  for (const line of lines) {
    const result = await runLine(line, fleet, bin, env);
    assert.equal(result.code, expected, `${line}\n${result.stderr}`);
  }
}

/** Renames svc-02's method through the API, so that exactly one account drifts. */
async function driftOneAccount(url: string, fleet: Fleet): Promise<void> {
  const account = fleet.byName('svc-02');
  const method = (await liveAccount(url, account.id)).methods[0];
  const answer = await callApi(url, account.apiKey, 'PUT', '/api/v0/tfa/update/', { tfa_method_id: method.id, label: 'renamed' });
  assert.equal(answer.status, 200);
}

test('ci examples: GitHub workflow runs', async () => {
  const workflow = parse(await readFile(join(EXAMPLES, 'github-actions.yml'), 'utf8'));
  const jobs = workflow.jobs as Record<string, { steps: Array<{ run?: string }>; strategy?: { matrix?: { shard?: number[] } }; env?: Record<string, string> }>;
  const commands = (job: string) => (jobs[job]?.steps ?? []).flatMap((step) => toolLines(step.run));
  for (const job of ['plan', 'plan-main', 'apply', 'drift']) assert.ok(commands(job).length > 0, `job ${job} runs tfa-gitops`);

  await withEmulator(async (emu) => {
    const fleet = await makeFleet(emu.url, 6, 3);
    const bin = await installShim(fleet.dir);
    const summary = join(fleet.dir, 'step-summary.md');
    const env = { GITHUB_STEP_SUMMARY: summary };

    await runAll(commands('plan'), fleet, bin, env, 0);
    const rows = parseMarkdownTable(await readFile(join(fleet.dir, 'plan.md'), 'utf8'));
    assert.equal(rows.length, 6);
    for (const row of rows) assert.equal(row['Result'], 'changes');

    await runAll(commands('plan-main'), fleet, bin, env, 0);
    await runAll(commands('apply'), fleet, bin, env, 0);
    for (const account of fleet.accounts) assert.equal((await liveAccount(emu.url, account.id)).methods.length, 1);

    const shards = jobs['drift']?.strategy?.matrix?.shard ?? [];
    assert.deepEqual(shards, [1, 2, 3, 4]);
    const shardEnv = (shard: number) => ({ ...env, SHARD: (jobs['drift']?.env?.['SHARD'] ?? '').replace('${{ matrix.shard }}', String(shard)) });
    for (const shard of shards) await runAll(commands('drift'), fleet, bin, shardEnv(shard), 0);
    assert.match(await readFile(summary, 'utf8'), /No drift\./);

    await driftOneAccount(emu.url, fleet);
    const codes: Array<number | null> = [];
    for (const shard of shards) {
      for (const line of commands('drift')) codes.push((await runLine(line, fleet, bin, shardEnv(shard))).code);
    }
    assert.deepEqual([...codes].sort(), [0, 0, 0, 2], 'only the shard with the drifted account fails');
    assert.match(await readFile(summary, 'utf8'), /\| `svc-02` \| drifted \| 1 \| different-method \|/);
  });
});

test('ci examples: GitLab pipeline runs', async () => {
  const pipeline = parse(await readFile(join(EXAMPLES, '.gitlab-ci.yml'), 'utf8'));
  const commands = (job: string) => ((pipeline[job]?.script ?? []) as unknown[]).flatMap(toolLines);
  for (const job of ['plan', 'plan-main', 'apply', 'drift']) assert.ok(commands(job).length > 0, `job ${job} runs tfa-gitops`);

  await withEmulator(async (emu) => {
    const fleet = await makeFleet(emu.url, 6, 3);
    const bin = await installShim(fleet.dir);

    await runAll(commands('plan'), fleet, bin, {}, 0);
    const junit = parseXml(await readFile(join(fleet.dir, 'plan.xml'), 'utf8'));
    assert.equal(findAll(junit, 'testcase').length, 6);
    assert.equal(junit.attributes['failures'], '6', 'each account has changes');
    assert.equal(parseMarkdownTable(await readFile(join(fleet.dir, 'plan.md'), 'utf8')).length, 6);

    await runAll(commands('plan-main'), fleet, bin, {}, 0);
    await runAll(commands('apply'), fleet, bin, {}, 0);
    for (const account of fleet.accounts) assert.equal((await liveAccount(emu.url, account.id)).methods.length, 1);

    const total = pipeline['drift']?.parallel as number;
    assert.equal(total, 4);
    const nodeEnv = (index: number) => ({ CI_NODE_INDEX: String(index), CI_NODE_TOTAL: String(total) });
    let testcases = 0;
    for (let index = 1; index <= total; index++) {
      await runAll(commands('drift'), fleet, bin, nodeEnv(index), 0);
      testcases += findAll(parseXml(await readFile(join(fleet.dir, 'drift.xml'), 'utf8')), 'testcase').length;
    }
    assert.equal(testcases, 6, 'the shards cover every account once');

    await driftOneAccount(emu.url, fleet);
    const failures: string[] = [];
    for (let index = 1; index <= total; index++) {
      for (const line of commands('drift')) {
        const result = await runLine(line, fleet, bin, nodeEnv(index));
        const report = parseXml(await readFile(join(fleet.dir, 'drift.xml'), 'utf8'));
        if (result.code === 2) failures.push(...findAll(report, 'failure').map(() => index.toString()));
        else assert.equal(result.code, 0, result.stderr);
      }
    }
    assert.equal(failures.length, 1, 'one shard reports one failing account');
  });
});
