/**
 * A smoke test of the benchmark harness: `node bench/run.mjs --quick` runs every case at tiny
 * sizes, once each, and must print each case's ratio, peak memory and targets. The full
 * benchmark (`npm run bench`) takes minutes and is never part of the test suite.
 */

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const QUICK_CASES = ['validate', 'plan-1', 'plan-20', 'plan-50', 'apply-3'];

interface CaseResult {
  name: string;
  ratio: number;
  tool: { median: number; runs: number; maxRssBytes?: number };
  floor: { median: number; runs: number };
  targets: { what: string; value: number; max: number }[];
  callsPerAccount?: { max: number; mean: number };
  waitsPerAccount?: { max: number; mean: number };
}

test('bench harness quick run prints every ratio', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tfa-gitops-bench-test-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const jsonPath = join(dir, 'results.json');

  const { stdout } = await promisify(execFile)(process.execPath, [join(ROOT, 'bench', 'run.mjs'), '--quick', '--json', jsonPath], {
    cwd: ROOT,
    timeout: 120_000,
  });

  for (const name of QUICK_CASES) {
    assert.match(stdout, new RegExp(`^${name}: `, 'm'), `no block for ${name}`);
  }
  const ratioLines = stdout.split('\n').filter((line) => /^ {2}ratio: \d+\.\d+ \(/.test(line));
  assert.equal(ratioLines.length, QUICK_CASES.length, `ratio lines:\n${ratioLines.join('\n')}`);
  assert.match(stdout, /^\| case \| tool, median/m, 'no summary table');
  assert.match(stdout, /^targets: not checked at --quick sizes \(5 listed\)$/m);
  assert.match(stdout, /API calls per account: max 6, mean 6\.00/);
  assert.match(stdout, /TOTP step waits per account: max 0, mean 0\.00/);

  const results = JSON.parse(await readFile(jsonPath, 'utf8')) as { quick: boolean; results: CaseResult[] };
  assert.equal(results.quick, true);
  assert.deepEqual(results.results.map((result) => result.name), QUICK_CASES);
  for (const result of results.results) {
    assert.ok(Number.isFinite(result.ratio), `${result.name} ratio ${result.ratio}`);
    assert.ok(result.ratio > 0, `${result.name} ratio ${result.ratio}`);
    assert.ok(result.tool.median > 0, `${result.name} tool median`);
    assert.ok(result.floor.median > 0, `${result.name} floor median`);
    assert.ok((result.tool.maxRssBytes ?? 0) > 10 * 1024 * 1024, `${result.name} peak memory ${result.tool.maxRssBytes}`);
  }
});
