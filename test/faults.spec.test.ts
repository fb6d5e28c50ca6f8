import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { FaultSpecError, formatFaultSpec, parseFaultSpec, seededRandom } from '../src/emulator/faults.js';
import { runCli } from './helpers/cli.js';

describe('fault spec parser', () => {
  test('full example parses', () => {
    const spec = parseFaultSpec('seed=42;503=0.1;429=0.05:retry-after=1;latency=20ms;drop-after-commit=0.05@confirm-new,regen-backup-codes;drop-before=0.02');

    assert.equal(spec.seed, 42);
    assert.deepEqual(spec.latency, [{ minMs: 20, maxMs: 20 }]);
    assert.deepEqual(spec.rules, [
      { kind: '503', rate: 0.1 },
      { kind: '429', rate: 0.05, retryAfterSeconds: 1 },
      { kind: 'drop-after-commit', rate: 0.05, endpoints: ['confirm-new', 'regen-backup-codes'] },
      { kind: 'drop-before', rate: 0.02 },
    ]);
  });

  test('rates, ranges and spaces', () => {
    const spec = parseFaultSpec(' 503 = 10% ; latency=10-50ms@status ; latency=1s ; 429=1:retry-after=0@sms,email ;');

    assert.equal(spec.seed, undefined);
    assert.deepEqual(spec.rules, [
      { kind: '503', rate: 0.1 },
      { kind: '429', rate: 1, retryAfterSeconds: 0, endpoints: ['sms', 'email'] },
    ]);
    assert.deepEqual(spec.latency, [
      { minMs: 10, maxMs: 50, endpoints: ['status'] },
      { minMs: 1000, maxMs: 1000 },
    ]);
  });

  test('format reads back the same', () => {
    const text = 'seed=7;latency=5-9ms@status;503=0.25:retry-after=2@delete;drop-before=0.5';
    const spec = parseFaultSpec(text);

    assert.equal(formatFaultSpec(spec), text);
    assert.deepEqual(parseFaultSpec(formatFaultSpec(spec)), spec);
  });

  const invalid: Array<[string, RegExp]> = [
    ['', /the fault spec is empty/],
    ['503', /invalid fault entry "503": expected NAME=VALUE/],
    ['504=0.1', /unknown fault "504" in "504=0.1"; did you mean "503"\?/],
    ['drop-befor=0.1', /did you mean "drop-before"\?/],
    ['503=1.5', /invalid rate "1.5" in "503=1.5"/],
    ['503=-0.1', /invalid rate "-0.1"/],
    ['503=abc', /invalid rate "abc"/],
    ['429=120%', /invalid rate "120%"/],
    ['503=0.1@confrim-new', /unknown endpoint "confrim-new".*did you mean "confirm-new"\?/],
    ['503=0.1@', /invalid endpoint list after "@"/],
    ['drop-before=0.1:retry-after=1', /retry-after applies to 429 and 503 only/],
    ['429=0.1:retry-after=soon', /invalid retry-after "soon"/],
    ['429=0.1:wait=1', /unknown parameter "wait"/],
    ['latency=20', /invalid latency "20".*20ms, 1s or 10-50ms/],
    ['latency=50-10ms', /the range must run from low to high/],
    ['latency=2000s', /at most 60s/],
    ['seed=-1', /invalid seed "-1"/],
    ['seed=4294967296', /invalid seed "4294967296"/],
    ['seed=1@status', /seed takes no endpoints or parameters/],
  ];
  for (const [text, message] of invalid) {
    test(`rejects ${JSON.stringify(text)}`, () => {
      assert.throws(
        () => parseFaultSpec(text),
        (error: unknown) => {
          assert.ok(error instanceof FaultSpecError, String(error));
          assert.equal(error.code, 'invalid_faults');
          assert.match(error.message, message);
          assert.ok(error.hint !== undefined, 'the error has a hint');
          assert.notEqual(error.hint, '');
          return true;
        },
      );
    });
  }
});

describe('seeded generator', () => {
  test('same seed, same sequence', () => {
    const first = seededRandom(42);
    const second = seededRandom(42);
    const a = Array.from({ length: 100 }, () => first());
    const b = Array.from({ length: 100 }, () => second());

    assert.deepEqual(a, b);
  });

  test('other seeds differ, zero included', () => {
    const zero = Array.from({ length: 5 }, seededRandom(0));
    const one = Array.from({ length: 5 }, seededRandom(1));

    assert.notDeepEqual(zero, one);
    assert.ok(new Set(zero).size === 5, 'seed 0 does not get stuck');
  });

  test('values spread over [0, 1)', () => {
    const random = seededRandom(123);
    const values = Array.from({ length: 10_000 }, () => random());
    const below = values.filter((value) => value < 0.1).length;

    assert.ok(values.every((value) => value >= 0 && value < 1));
    // A fair generator puts about 1000 of 10 000 values below 0.1, with a standard deviation
    // of 30, so 800 and 1200 lie more than 6 standard deviations away.
    assert.ok(below > 800, `${below} values below 0.1`);
    assert.ok(below < 1200, `${below} values below 0.1`);
  });
});

describe('emulator --faults option', () => {
  test('invalid spec fails before listening', async () => {
    const result = await runCli(['emulator', '--port', '0', '--faults', '503=2'], { cwd: process.cwd() });

    assert.equal(result.code, 1);
    assert.match(result.stderr, /Error: invalid rate "2" in "503=2"/);
    assert.doesNotMatch(result.stdout, /listening on/);
  });

  test('help documents the syntax', async () => {
    const result = await runCli(['emulator', '--help'], { cwd: process.cwd() });

    assert.equal(result.code, 0);
    assert.match(result.stdout, /--faults <spec>/);
    assert.match(result.stdout, /drop-after-commit=RATE/);
    assert.match(result.stdout, /regen-backup-codes/);
  });
});
