import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CliIo } from '../src/cli/io.js';
import { startProgress } from '../src/cli/progress.js';
import { resolveFormat } from '../src/cli/commands/plan.js';

function captureIo(isTTY: boolean): { io: CliIo; stderr: () => string } {
  let stderr = '';
  const io: CliIo = {
    stdout: { write: () => undefined },
    stderr: { write: (text: string) => void (stderr += text), isTTY },
    env: {},
    cwd: '/',
    interactive: false,
  };
  return { io, stderr: () => stderr };
}

test('progress: every tenth in logs', () => {
  const { io, stderr } = captureIo(false);
  const progress = startProgress(io, 'plan', 20, { quiet: false, intervalMs: 60_000 });
  for (let i = 0; i < 20; i++) progress.step(i === 4);
  progress.finish();
  const lines = stderr().trim().split('\n');
  assert.equal(lines.length, 10);
  assert.equal(lines[0], 'progress: phase=plan done=2 total=20 failed=0');
  assert.equal(lines.at(-1), 'progress: phase=plan done=20 total=20 failed=1');
});

test('progress: timer between tenths', async () => {
  const { io, stderr } = captureIo(false);
  const progress = startProgress(io, 'apply', 100, { quiet: false, intervalMs: 10 });
  progress.step(false);
  progress.step(false);
  await sleep(300);
  assert.equal(stderr(), 'progress: phase=apply done=2 total=100 failed=0\n', 'one line while nothing else finished');
  progress.finish();
  assert.equal(stderr().split('\n').filter(Boolean).length, 1, 'finish repeats no line');
});

test('progress: terminal line redrawn', () => {
  const { io, stderr } = captureIo(true);
  const progress = startProgress(io, 'plan', 2, { quiet: false });
  progress.io.stderr.write('retry: account=a\n');
  progress.step(false);
  progress.finish();
  assert.equal(
    stderr(),
    '\r\u001b[2Kplan: 0/2 accounts' + '\r\u001b[2Kretry: account=a\n\r\u001b[2Kplan: 0/2 accounts' + '\r\u001b[2Kplan: 1/2 accounts' + '\r\u001b[2K',
  );
});

test('progress: quiet and single account', () => {
  for (const [total, quiet] of [[5, true], [1, false]] as const) {
    const { io, stderr } = captureIo(true);
    const progress = startProgress(io, 'plan', total, { quiet });
    progress.step(false);
    progress.finish();
    assert.equal(stderr(), '');
    assert.equal(progress.io, io);
  }
});

test('format: json alias and conflict', () => {
  assert.equal(resolveFormat({}), 'human');
  assert.equal(resolveFormat({ json: true }), 'json');
  assert.equal(resolveFormat({ json: true, format: 'json' }), 'json');
  assert.equal(resolveFormat({ format: 'junit' }), 'junit');
  assert.throws(() => resolveFormat({ json: true, format: 'markdown' }), /--json conflicts with --format markdown/);
});
