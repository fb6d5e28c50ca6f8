import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { TfaError } from '../src/errors.js';
import { generateTotp, systemClock, TotpCodeSource, totpStep, type Clock } from '../src/totp/index.js';

const SEED_A = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
const SEED_B = 'MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U';

/** A clock whose sleep moves time forward at once and records each requested delay. */
class FakeClock implements Clock {
  readonly sleeps: number[] = [];

  constructor(public now: number) {}

  nowMs(): number {
    return this.now;
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    this.sleeps.push(ms);
    this.now += ms;
  }
}

// 10 seconds into a step.
const START_MS = (1_700_000_010 - (1_700_000_010 % 30) + 10) * 1000;

describe('TotpCodeSource', () => {
  it('returns the current step without waiting', async () => {
    const clock = new FakeClock(START_MS);
    const source = new TotpCodeSource(clock);

    const result = await source.next(SEED_A);

    const step = totpStep(START_MS / 1000);
    assert.equal(result.step, step);
    assert.equal(result.code, await generateTotp(SEED_A, step * 30));
    assert.equal(result.waitedMs, 0);
    assert.equal(source.waits, 0);
  });

  it('waits once when asked twice in a step', async () => {
    const clock = new FakeClock(START_MS);
    const source = new TotpCodeSource(clock);

    const first = await source.next(SEED_A);
    const second = await source.next(SEED_A);

    assert.equal(source.waits, 1);
    assert.equal(clock.sleeps.length, 1);
    assert.equal(second.step, first.step + 1);
    assert.notEqual(second.code, first.code);
    assert.equal(second.code, await generateTotp(SEED_A, second.step * 30));
    // 20 seconds were left in the step, plus a small margin past the boundary.
    assert.ok(second.waitedMs >= 20_000, String(second.waitedMs));
    assert.ok(second.waitedMs < 21_000, String(second.waitedMs));
  });

  it('never repeats a step for one seed', async () => {
    const clock = new FakeClock(START_MS);
    const source = new TotpCodeSource(clock);
    const steps = new Set<number>();

    for (let i = 0; i < 5; i += 1) {
      steps.add((await source.next(SEED_A)).step);
    }

    assert.equal(steps.size, 5);
    assert.equal(source.waits, 4);
  });

  it('gives concurrent calls different steps', async () => {
    const clock = new FakeClock(START_MS);
    const source = new TotpCodeSource(clock);

    const results = await Promise.all([source.next(SEED_A), source.next(SEED_A), source.next(SEED_A)]);

    assert.equal(new Set(results.map((result) => result.step)).size, 3);
  });

  it('does not wait across seeds', async () => {
    const clock = new FakeClock(START_MS);
    const source = new TotpCodeSource(clock);

    const a = await source.next(SEED_A);
    const b = await source.next(SEED_B);

    assert.equal(a.step, b.step);
    assert.equal(source.waits, 0);
  });

  it('treats spellings of a seed as one seed', async () => {
    const clock = new FakeClock(START_MS);
    const source = new TotpCodeSource(clock);

    await source.next(SEED_A);
    const second = await source.next(SEED_A.toLowerCase().replace(/(.{4})/g, '$1 '));

    assert.equal(source.waits, 1);
    assert.equal(second.step, totpStep(START_MS / 1000) + 1);
  });

  it('respects lastStep from the store', async () => {
    const clock = new FakeClock(START_MS);
    const source = new TotpCodeSource(clock);
    const current = totpStep(START_MS / 1000);

    const result = await source.next(SEED_A, { lastStep: current });

    assert.equal(result.step, current + 1);
    assert.equal(source.waits, 1);
  });

  it('ignores an older lastStep', async () => {
    const clock = new FakeClock(START_MS);
    const source = new TotpCodeSource(clock);
    const current = totpStep(START_MS / 1000);

    const result = await source.next(SEED_A, { lastStep: current - 1 });

    assert.equal(result.step, current);
    assert.equal(source.waits, 0);
  });

  it('waits past a lastStep one step ahead', async () => {
    const clock = new FakeClock(START_MS);
    const source = new TotpCodeSource(clock);
    const current = totpStep(START_MS / 1000);

    const result = await source.next(SEED_A, { lastStep: current + 1 });

    assert.equal(result.step, current + 2);
    assert.equal(source.waits, 1);
    assert.ok(result.waitedMs >= 50_000, String(result.waitedMs));
    assert.ok(result.waitedMs < 51_000, String(result.waitedMs));
  });

  it('rejects a lastStep far ahead of the clock', async () => {
    const clock = new FakeClock(START_MS);
    const source = new TotpCodeSource(clock);
    const current = totpStep(START_MS / 1000);

    await assert.rejects(
      source.next(SEED_A, { lastStep: current + 100 }),
      (error: unknown) => error instanceof TfaError && error.code === 'totp_step_ahead',
    );
    assert.equal(source.waits, 0);
  });

  it('adds the server offset to the clock', async () => {
    const clock = new FakeClock(START_MS);
    // The server runs 25 seconds ahead, so its step is the next one.
    const source = new TotpCodeSource(clock, { offsetMs: () => 25_000 });

    const result = await source.next(SEED_A);

    assert.equal(result.step, totpStep(START_MS / 1000) + 1);
  });

  it('aborts a wait at once', async () => {
    const source = new TotpCodeSource(systemClock);
    const controller = new AbortController();
    const current = totpStep(Date.now() / 1000);
    const started = Date.now();
    setTimeout(() => controller.abort(new Error('stopped by test')), 20);

    // lastStep is the current step, so without the abort this would wait up to 30 seconds.
    await assert.rejects(source.next(SEED_A, { lastStep: current, signal: controller.signal }), /stopped by test/);

    assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
    assert.equal(source.waits, 1);
  });

  it('rejects an already aborted signal', async () => {
    const clock = new FakeClock(START_MS);
    const source = new TotpCodeSource(clock);

    await assert.rejects(source.next(SEED_A, { signal: AbortSignal.abort(new Error('cancelled')) }), /cancelled/);
  });
});
