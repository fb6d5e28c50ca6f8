import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { TfaError } from '../src/errors.js';
import { generateTotp, normalizeSeed, totpStep, verifyTotp } from '../src/totp/index.js';

// RFC 6238 appendix B seeds: ASCII "1234567890" repeated to 20, 32 and 64 bytes, in base32.
const SHA1_SEED = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
const SHA256_SEED = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA';
const SHA512_SEED =
  'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNA';

// RFC 6238 appendix B: time in seconds, then the 8-digit codes for SHA-1, SHA-256, SHA-512.
const RFC_VECTORS: Array<[number, string, string, string]> = [
  [59, '94287082', '46119246', '90693936'],
  [1111111109, '07081804', '68084774', '25091201'],
  [1111111111, '14050471', '67062674', '99943326'],
  [1234567890, '89005924', '91819424', '93441116'],
  [2000000000, '69279037', '90698825', '38618901'],
  [20000000000, '65353130', '77737706', '47863826'],
];

describe('generateTotp', () => {
  it('matches the RFC 6238 SHA-1 vectors', async () => {
    for (const [time, sha1] of RFC_VECTORS) {
      assert.equal(await generateTotp(SHA1_SEED, time, { digits: 8 }), sha1, `T=${time}`);
    }
  });

  it('keeps the leading zero', async () => {
    const code = await generateTotp(SHA1_SEED, 1111111109, { digits: 8 });
    assert.equal(code, '07081804');
    assert.equal(code.length, 8);
  });

  it('matches the RFC 6238 SHA-256 vectors', async () => {
    for (const [time, , sha256] of RFC_VECTORS) {
      assert.equal(await generateTotp(SHA256_SEED, time, { digits: 8, algorithm: 'sha256' }), sha256, `T=${time}`);
    }
  });

  it('matches the RFC 6238 SHA-512 vectors', async () => {
    for (const [time, , , sha512] of RFC_VECTORS) {
      assert.equal(await generateTotp(SHA512_SEED, time, { digits: 8, algorithm: 'sha512' }), sha512, `T=${time}`);
    }
  });

  it('defaults to 6 digits of SHA-1', async () => {
    assert.equal(await generateTotp(SHA1_SEED, 59), '287082');
  });

  it('rejects digits outside 6 to 8', async () => {
    for (const digits of [4, 5, 9, 11]) {
      await assert.rejects(
        generateTotp(SHA1_SEED, 59, { digits: digits as 6 }),
        (error: unknown) => error instanceof TfaError && error.code === 'invalid_totp_option' && error.message.includes(String(digits)),
      );
    }
  });

  it('rejects a negative or non-finite time', async () => {
    await assert.rejects(generateTotp(SHA1_SEED, -1), TfaError);
    await assert.rejects(generateTotp(SHA1_SEED, Number.NaN), TfaError);
  });
});

describe('normalizeSeed', () => {
  it('gives the same code for every spelling', async () => {
    const clean = await generateTotp(SHA1_SEED, 1111111109);
    const spellings = [
      'GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ',
      SHA1_SEED.toLowerCase(),
      'gezd-gnbv-gy3t-qojq-gezd-gnbv-gy3t-qojq',
      ` ${SHA1_SEED}\n`,
    ];
    for (const spelling of spellings) {
      assert.equal(normalizeSeed(spelling), SHA1_SEED);
      assert.equal(await generateTotp(spelling, 1111111109), clean, spelling);
    }
  });

  it('accepts = padding', async () => {
    const padded = `${SHA256_SEED}====`;
    assert.equal(normalizeSeed(padded), SHA256_SEED);
    assert.equal(
      await generateTotp(padded, 59, { digits: 8, algorithm: 'sha256' }),
      await generateTotp(SHA256_SEED, 59, { digits: 8, algorithm: 'sha256' }),
    );
  });

  it('rejects invalid base32 without echoing it', () => {
    const invalid = ['GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ1', 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ!', 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQG', ''];
    for (const seed of invalid) {
      assert.throws(
        () => normalizeSeed(seed),
        (error: unknown) => {
          assert.ok(error instanceof TfaError);
          assert.equal(error.code, 'invalid_seed');
          assert.ok(seed === '' || !error.message.includes(seed.slice(0, 12)), error.message);
          assert.ok(!error.message.includes('"1"'), error.message);
          assert.ok(!error.message.includes('"!"'), error.message);
          return true;
        },
        seed,
      );
    }
  });

  it('rejects a seed shorter than 16 bytes', () => {
    // 10 bytes, the length many tutorials use.
    assert.throws(() => normalizeSeed('JBSWY3DPEHPK3PXP'), (error: unknown) => {
      assert.ok(error instanceof TfaError);
      assert.equal(error.code, 'invalid_seed');
      assert.match(error.message, /10 bytes/);
      assert.ok(!error.message.includes('JBSWY3DP'));
      return true;
    });
  });
});

describe('totpStep', () => {
  it('counts 30-second steps', () => {
    assert.equal(totpStep(0), 0);
    assert.equal(totpStep(29.999), 0);
    assert.equal(totpStep(30), 1);
    assert.equal(totpStep(1111111109), 37037036);
  });
});

describe('verifyTotp', () => {
  // Mid-step, so that a 30-second tolerance covers exactly one step either side.
  const now = 1_700_000_000 - (1_700_000_000 % 30) + 15;
  const step = totpStep(now);

  it('accepts the current step', async () => {
    const code = await generateTotp(SHA1_SEED, now);
    assert.deepEqual(await verifyTotp(SHA1_SEED, code, now, 30), { valid: true, step });
  });

  it('accepts one step either side', async () => {
    const previous = await generateTotp(SHA1_SEED, now - 30);
    const following = await generateTotp(SHA1_SEED, now + 30);
    assert.deepEqual(await verifyTotp(SHA1_SEED, previous, now, 30), { valid: true, step: step - 1 });
    assert.deepEqual(await verifyTotp(SHA1_SEED, following, now, 30), { valid: true, step: step + 1 });
  });

  it('rejects two steps off', async () => {
    const early = await generateTotp(SHA1_SEED, now - 60);
    const late = await generateTotp(SHA1_SEED, now + 60);
    assert.deepEqual(await verifyTotp(SHA1_SEED, early, now, 30), { valid: false });
    assert.deepEqual(await verifyTotp(SHA1_SEED, late, now, 30), { valid: false });
  });

  it('rejects a neighbouring step with zero tolerance', async () => {
    const previous = await generateTotp(SHA1_SEED, now - 30);
    assert.deepEqual(await verifyTotp(SHA1_SEED, previous, now, 0), { valid: false });
  });

  it('treats malformed codes as invalid', async () => {
    for (const code of ['', '12345', '12a456', '123456789', ' 123456']) {
      assert.deepEqual(await verifyTotp(SHA1_SEED, code, now), { valid: false }, JSON.stringify(code));
    }
  });

  it('verifies 8-digit codes', async () => {
    assert.deepEqual(await verifyTotp(SHA1_SEED, '07081804', 1111111109, 0), { valid: true, step: totpStep(1111111109) });
  });
});
