import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { CodeProviderError, createCodeProvider, type CodeRequest } from '../src/apply/code-provider.js';

const folders: string[] = [];

after(async () => {
  await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
});

const request: CodeRequest = { account: 'ml-prod', channel: 'email', destination: 'o***@example.com', sentAfter: 1_700_000_000.75 };

/** Writes `body` as an executable shell script in a new temporary folder and returns the folder. */
async function scriptFolder(body: string, name = 'read-code.sh'): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'tfa-codes-'));
  folders.push(folder);
  await writeFile(join(folder, name), `#!/bin/sh\n${body}\n`);
  await chmod(join(folder, name), 0o755);
  return folder;
}

function provider(folder: string, timeoutSeconds = 10, env: NodeJS.ProcessEnv = { PATH: process.env['PATH'] }) {
  return createCodeProvider({ kind: 'command', command: './read-code.sh', timeoutSeconds }, { baseDir: folder, env });
}

/** Returns an assert.rejects validator for a CodeProviderError that contains none of `secrets`. */
function providerError(code: string, fragments: string[], secrets: string[] = []) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof CodeProviderError, String(error));
    assert.equal(error.code, code, error.message);
    const text = `${error.message} ${error.hint ?? ''}`;
    assert.ok(text.includes('./read-code.sh'), text);
    for (const fragment of fragments) {
      assert.ok(text.includes(fragment), `"${text}" lacks "${fragment}"`);
    }
    for (const secret of secrets) {
      assert.ok(!text.includes(secret), `"${text}" contains "${secret}"`);
    }
    return true;
  };
}

/**
 * Returns whether a process runs. A zombie counts as ended: an orphan stays one until the
 * init process reaps it, which some container init processes do late or never.
 */
async function isRunning(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    // No /proc entry: the process is gone, or this system has no /proc.
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

async function waitForExit(pid: number, timeoutMs = 1000): Promise<boolean> {
  for (let waitedMs = 0; waitedMs < timeoutMs && (await isRunning(pid)); waitedMs += 20) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return !(await isRunning(pid));
}

describe('command code provider', () => {
  it('returns the printed code', async () => {
    const folder = await scriptFolder("printf '%s\\n' 012345");

    assert.equal(await provider(folder).getCode(request), '012345');
  });

  it('accepts output without a newline', async () => {
    const folder = await scriptFolder("printf '%s' 654321");

    assert.equal(await provider(folder).getCode(request), '654321');
  });

  it('describes itself by its command', async () => {
    const folder = await scriptFolder('echo 123456');

    assert.equal(provider(folder).description, 'command "./read-code.sh"');
  });

  it('passes the request in its environment', async () => {
    const folder = await scriptFolder(
      [
        'printf "%s\\n" "$TFA_GITOPS_ACCOUNT" "$TFA_GITOPS_CHANNEL" "$TFA_GITOPS_DESTINATION" "$TFA_GITOPS_SENT_AFTER" \\',
        '  "$MAILBOX" "$EXTRA" "${TFA_GITOPS_PASSPHRASE-unset}" "$PWD" > seen.txt',
        'echo 111111',
      ].join('\n'),
    );
    const codes = createCodeProvider(
      { kind: 'command', command: './read-code.sh', timeoutSeconds: 10 },
      {
        baseDir: folder,
        env: { PATH: process.env['PATH'], MAILBOX: 'ops@example.com', TFA_GITOPS_PASSPHRASE: 'store passphrase' },
        extraEnv: { EXTRA: 'from-tool' },
      },
    );

    assert.equal(await codes.getCode(request), '111111');

    const seen = (await readFile(join(folder, 'seen.txt'), 'utf8')).split('\n');
    assert.deepEqual(seen.slice(0, 8), ['ml-prod', 'email', 'o***@example.com', '1700000000', 'ops@example.com', 'from-tool', 'unset', folder]);
  });

  it('rejects output without digits', async () => {
    const folder = await scriptFolder("echo 'no message yet'");

    await assert.rejects(provider(folder).getCode(request), providerError('code_provider_invalid_code', ['instead of a 6-digit code', 'stdout'], ['no message yet']));
  });

  it('rejects empty output', async () => {
    const folder = await scriptFolder('true');

    await assert.rejects(provider(folder).getCode(request), providerError('code_provider_invalid_code', ['printed nothing']));
  });

  it('rejects 5 digits', async () => {
    const folder = await scriptFolder('echo 12345');

    await assert.rejects(provider(folder).getCode(request), providerError('code_provider_invalid_code', ['printed 5 digits'], ['12345']));
  });

  it('rejects 7 digits', async () => {
    const folder = await scriptFolder('echo 1234567');

    await assert.rejects(provider(folder).getCode(request), providerError('code_provider_invalid_code', ['printed 7 digits'], ['123456']));
  });

  it('rejects a code inside a sentence', async () => {
    const folder = await scriptFolder("echo 'Your code is 246810'");

    await assert.rejects(provider(folder).getCode(request), providerError('code_provider_invalid_code', ['1 line'], ['246810']));
  });

  it('reports a non-zero exit', async () => {
    const folder = await scriptFolder(['echo 555555', "echo 'first line' >&2", "echo 'imap login failed, last code 987654' >&2", 'exit 3'].join('\n'));

    await assert.rejects(
      provider(folder).getCode(request),
      providerError('code_provider_failed', ['exit code 3', 'imap login failed, last code ******'], ['555555', '987654', 'first line']),
    );
  });

  it('cuts a long stderr line', async () => {
    const folder = await scriptFolder(`printf 'x%.0s' $(seq 1 500) >&2; exit 1`);

    await assert.rejects(provider(folder).getCode(request), (error: unknown) => {
      assert.ok(error instanceof CodeProviderError);
      const line = error.message.split(': ').at(-1) ?? '';
      assert.equal(line.length, 201, line);
      assert.ok(line.endsWith('....'), line);
      return true;
    });
  });

  it('times out and kills the group', async () => {
    const folder = await scriptFolder('sleep 30 &\necho $! > child.pid\nwait');
    const started = Date.now();

    await assert.rejects(provider(folder, 1).getCode(request), providerError('code_provider_timeout', ['timed out after 1 s', 'timeoutSeconds']));

    assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
    const childPid = Number(await readFile(join(folder, 'child.pid'), 'utf8'));
    assert.ok(await waitForExit(childPid), `sleep ${childPid} still runs`);
  });

  it('kills a command ignoring SIGTERM', async () => {
    const folder = await scriptFolder("trap '' TERM\nsleep 30 &\necho $! > child.pid\nwait");
    const started = Date.now();

    await assert.rejects(provider(folder, 1).getCode(request), providerError('code_provider_timeout', []));

    // The outer shell dies of SIGTERM at once, but sleep inherited the ignored SIGTERM and
    // ends only with the SIGKILL 2 s later.
    const childPid = Number(await readFile(join(folder, 'child.pid'), 'utf8'));
    assert.ok(await waitForExit(childPid, 4000), `sleep ${childPid} still runs`);
    assert.ok(Date.now() - started < 6000, `took ${Date.now() - started} ms`);
  });

  it('reports a missing command', async () => {
    const folder = await scriptFolder('echo 123456', 'other.sh');

    await assert.rejects(provider(folder).getCode(request), providerError('code_provider_not_found', ['exit code 127', folder]));
  });

  it('reports a script without execute permission', async () => {
    const folder = await scriptFolder('echo 123456');
    await chmod(join(folder, 'read-code.sh'), 0o644);

    await assert.rejects(provider(folder).getCode(request), providerError('code_provider_failed', ['exit code 126', 'chmod +x'], ['123456']));
  });

  it('names the signal behind exit 137', async () => {
    const folder = await scriptFolder('kill -9 $$');

    await assert.rejects(provider(folder).getCode(request), providerError('code_provider_failed', ['exit code 137', 'SIGKILL']));
  });

  it('stops a flood of output', async () => {
    const folder = await scriptFolder('yes 123456');

    await assert.rejects(provider(folder).getCode(request), providerError('code_provider_invalid_code', ['more than 65536 bytes']));
  });

  it('kills the command on abort', async () => {
    const folder = await scriptFolder('echo $$ > shell.pid\nsleep 30');
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(new Error('apply cancelled')), 200);

    await assert.rejects(provider(folder).getCode(request, controller.signal), /apply cancelled/);

    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
    const shellPid = Number(await readFile(join(folder, 'shell.pid'), 'utf8'));
    assert.ok(await waitForExit(shellPid), `shell ${shellPid} still runs`);
  });

  it('rejects a missing base folder', async () => {
    const folder = join(await scriptFolder('echo 123456'), 'gone');

    await assert.rejects(provider(folder).getCode(request), providerError('code_provider_failed', [folder]));
  });

  it('rejects an invalid timeout', () => {
    for (const timeoutSeconds of [0, -1, Number.NaN]) {
      assert.throws(
        () => createCodeProvider({ kind: 'command', command: './read-code.sh', timeoutSeconds }, { baseDir: tmpdir(), env: {} }),
        (error: unknown) => error instanceof CodeProviderError && error.code === 'code_provider_invalid',
        String(timeoutSeconds),
      );
    }
  });
});
