/**
 * Shape checks for account records that arrive from outside the tool: a Vault secret, a
 * helper command's output, an environment variable. The reasons name fields and positions,
 * never values, because the values are seeds and backup codes.
 */

const METHOD_STATES = new Set(['pending', 'active', 'retired']);

/** Returns why `value` is not an AccountRecord, or undefined when it is one. */
export function recordProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'the record is not a JSON object';
  if (!Array.isArray(value['methods'])) return 'the record has no "methods" array';
  if (!Array.isArray(value['backupCodes'])) return 'the record has no "backupCodes" array';

  for (const [index, method] of value['methods'].entries()) {
    const problem = methodProblem(method);
    if (problem !== undefined) return `methods[${index}] ${problem}`;
  }

  for (const [index, code] of value['backupCodes'].entries()) {
    if (!isObject(code) || typeof code['code'] !== 'string' || typeof code['used'] !== 'boolean') {
      return `backupCodes[${index}] needs a string "code" and a boolean "used"`;
    }
  }

  if (value['userId'] !== undefined && !Number.isSafeInteger(value['userId'])) return '"userId" is not an integer';
  if (value['apiKey'] !== undefined && typeof value['apiKey'] !== 'string') return '"apiKey" is not a string';
  if (value['smsChallenges'] !== undefined && !Array.isArray(value['smsChallenges'])) return '"smsChallenges" is not an array';
  if (value['lock'] !== undefined && !isObject(value['lock'])) return '"lock" is not an object';
  return undefined;
}

function methodProblem(method: unknown): string | undefined {
  if (!isObject(method)) return 'is not an object';
  if (typeof method['label'] !== 'string') return 'has no string "label"';
  if (method['type'] !== 'totp') return 'has a "type" other than "totp"';
  if (typeof method['seed'] !== 'string') return 'has no string "seed"';
  if (method['methodId'] !== null && !Number.isSafeInteger(method['methodId'])) return 'has a "methodId" that is neither an integer nor null';
  if (typeof method['state'] !== 'string' || !METHOD_STATES.has(method['state'])) return 'has a "state" other than pending, active or retired';
  return undefined;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
