import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { CodeProviderError, createCodeProvider, type CodeRequest } from '../src/apply/code-provider.js';

const request: CodeRequest = { account: 'ml-prod', channel: 'sms', destination: '******1234', sentAfter: 1_700_000_000 };

function assertProviderError(code: string, fragments: string[], secrets: string[] = []) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof CodeProviderError, String(error));
    assert.equal(error.code, code, error.message);
    const text = `${error.message} ${error.hint ?? ''}`;
    for (const fragment of fragments) {
      assert.ok(text.includes(fragment), `"${text}" lacks "${fragment}"`);
    }
    for (const secret of secrets) {
      assert.ok(!text.includes(secret), `"${text}" contains "${secret}"`);
    }
    return true;
  };
}

describe('env code provider', () => {
  it('returns the variable value', async () => {
    const codes = createCodeProvider({ kind: 'env', name: 'SMS_CODE' }, { baseDir: '/', env: { SMS_CODE: '024680' } });

    assert.equal(await codes.getCode(request), '024680');
    assert.equal(codes.description, 'environment variable SMS_CODE');
  });

  it('trims surrounding whitespace', async () => {
    const codes = createCodeProvider({ kind: 'env', name: 'SMS_CODE' }, { baseDir: '/', env: { SMS_CODE: ' 135790\n' } });

    assert.equal(await codes.getCode(request), '135790');
  });

  it('reports a missing variable', async () => {
    const codes = createCodeProvider({ kind: 'env', name: 'SMS_CODE' }, { baseDir: '/', env: {} });

    await assert.rejects(codes.getCode(request), assertProviderError('code_provider_env_missing', ['SMS_CODE', 'ml-prod', 'not set']));
  });

  it('reports an empty variable', async () => {
    const codes = createCodeProvider({ kind: 'env', name: 'SMS_CODE' }, { baseDir: '/', env: { SMS_CODE: '  ' } });

    await assert.rejects(codes.getCode(request), assertProviderError('code_provider_env_missing', ['SMS_CODE']));
  });

  it('rejects values that are not 6 digits', async () => {
    for (const value of ['12345', '1234567', 'abcdef', '12 345', '12345a']) {
      const codes = createCodeProvider({ kind: 'env', name: 'SMS_CODE' }, { baseDir: '/', env: { SMS_CODE: value } });

      await assert.rejects(codes.getCode(request), assertProviderError('code_provider_invalid_code', ['SMS_CODE', '6-digit'], [value]), value);
    }
  });
});

describe('prompt code provider', () => {
  it('rejects use without a terminal', async () => {
    const codes = createCodeProvider({ kind: 'prompt' }, { baseDir: '/', env: {} });

    await assert.rejects(codes.getCode(request), assertProviderError('code_provider_no_terminal', ['ml-prod', 'sms', 'env', 'command']));
  });

  it('asks with the destination', async () => {
    const questions: string[] = [];
    const signals: Array<AbortSignal | undefined> = [];
    const controller = new AbortController();
    const codes = createCodeProvider(
      { kind: 'prompt' },
      {
        baseDir: '/',
        env: {},
        prompt: async (question, signal) => {
          questions.push(question);
          signals.push(signal);
          return '654 321\n';
        },
      },
    );

    assert.equal(await codes.getCode(request, controller.signal), '654321');
    assert.equal(questions.length, 1);
    assert.match(questions[0] ?? '', /sms/);
    assert.match(questions[0] ?? '', /\*{6}1234/);
    assert.match(questions[0] ?? '', /ml-prod/);
    assert.equal(signals[0], controller.signal);
  });

  it('asks again after invalid input', async () => {
    const answers = ['12', 'abcdef', '112233'];
    const questions: string[] = [];
    const codes = createCodeProvider(
      { kind: 'prompt' },
      {
        baseDir: '/',
        env: {},
        prompt: async (question) => {
          questions.push(question);
          return answers.shift() ?? '';
        },
      },
    );

    assert.equal(await codes.getCode(request), '112233');
    assert.equal(questions.length, 3);
    assert.match(questions[1] ?? '', /not a 6-digit code/);
    assert.ok(!questions.join('\n').includes('abcdef'));
  });

  it('gives up after three invalid answers', async () => {
    let promptCount = 0;
    const codes = createCodeProvider(
      { kind: 'prompt' },
      {
        baseDir: '/',
        env: {},
        prompt: async () => {
          promptCount += 1;
          return '98765';
        },
      },
    );

    await assert.rejects(codes.getCode(request), assertProviderError('code_provider_invalid_code', ['3 attempts'], ['98765']));
    assert.equal(promptCount, 3);
  });
});
