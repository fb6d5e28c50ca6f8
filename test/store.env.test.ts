import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { EnvStore, openStore, requireWritable, StoreError, type AccountRecord } from '../src/store/index.js';

const SEED = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

function record(): AccountRecord {
  return {
    methods: [{ label: 'ci-bot', type: 'totp', seed: SEED, methodId: 3, state: 'active', createdAt: '2026-01-02T03:04:05.000Z', updatedAt: '2026-01-02T03:04:05.000Z' }],
    backupCodes: [{ code: 'a1b2c3d4', used: false }],
  };
}

/** Checks a StoreError's code, that its text contains each fragment, and that it never shows the seed. */
function storeError(code: string, ...fragments: string[]) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof StoreError, `expected StoreError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    const text = `${error.message} ${error.hint ?? ''}`;
    for (const fragment of fragments) assert.ok(text.includes(fragment), `"${text}" lacks "${fragment}"`);
    assert.ok(!text.includes(SEED), 'the seed is not shown');
    return true;
  };
}

describe('env store', () => {
  it('maps account names to variables', async () => {
    const store = (await openStore('env://TFA_CI', { env: {} })) as EnvStore;
    assert.equal(store.variableFor('ml-prod'), 'TFA_CI_ML_PROD_RECORD');
    assert.equal(store.variableFor('team.ops_2'), 'TFA_CI_TEAM_OPS_2_RECORD');
    assert.equal(store.location, 'env://TFA_CI');
  });

  it('reads JSON and base64 values', async () => {
    const json = JSON.stringify(record());
    const env = { TFA_CI_PLAIN_RECORD: `  ${json}\n`, TFA_CI_ENCODED_RECORD: Buffer.from(json).toString('base64') };
    const store = await openStore('env://TFA_CI', { env });

    assert.deepEqual(await store.read('plain'), { record: record(), version: 1 });
    assert.deepEqual(await store.read('encoded'), { record: record(), version: 1 });
  });

  it('reads an empty variable as absent', async () => {
    const store = await openStore('env://TFA_CI', { env: { TFA_CI_ML_PROD_RECORD: '' } });
    assert.equal((await store.read('ml-prod')).version, 0);
    assert.deepEqual(await store.list(), []);
  });

  it('keeps the values read at open', async () => {
    const env: NodeJS.ProcessEnv = { TFA_CI_ML_PROD_RECORD: JSON.stringify(record()) };
    const store = await openStore('env://TFA_CI', { env });
    delete env['TFA_CI_ML_PROD_RECORD'];
    assert.equal((await store.read('ml-prod')).version, 1);
  });

  it('lists only its own variables', async () => {
    const env = {
      TFA_CI_ML_PROD_RECORD: JSON.stringify(record()),
      TFA_CI_TOKEN: 'not a record',
      OTHER_ML_DEV_RECORD: JSON.stringify(record()),
      TFA_CI__RECORD: JSON.stringify(record()),
    };
    const store = await openStore('env://TFA_CI', { env });
    assert.deepEqual(await store.list(), ['ml_prod']);
  });

  it('rejects a value that is not a record', async () => {
    const cases: [value: string, reason: string][] = [
      [`seed=${SEED}`, 'neither JSON nor base64-encoded JSON'],
      [`{"seed": "${SEED}"`, 'neither JSON nor base64-encoded JSON'],
      [JSON.stringify({ methods: [] }), 'no "backupCodes" array'],
      [JSON.stringify({ methods: [{ label: 'x', type: 'totp', seed: SEED, methodId: 'one', state: 'active' }], backupCodes: [] }), 'methods[0] has a "methodId"'],
      [JSON.stringify({ methods: [], backupCodes: [{ code: 'a1b2c3d4' }] }), 'backupCodes[0]'],
    ];
    for (const [value, reason] of cases) {
      const store = await openStore('env://TFA_CI', { env: { TFA_CI_ML_PROD_RECORD: value } });
      await assert.rejects(store.read('ml-prod'), storeError('store_invalid', 'TFA_CI_ML_PROD_RECORD', reason, 'jq'));
    }
  });

  it('rejects writes naming the record', async () => {
    const store = await openStore('env://TFA_CI', { env: {} });
    await assert.rejects(
      store.write('ml-prod', record(), 0),
      storeError('store_read_only', 'Cannot store the record of account "ml-prod"', 'env://TFA_CI is read-only', 'TFA_CI_ML_PROD_RECORD', 'vault://'),
    );
  });

  it('rejects an invalid prefix', async () => {
    for (const url of ['env://', 'env://1TFA', 'env://TFA-CI', 'env://TFA/CI']) {
      await assert.rejects(openStore(url, { env: {} }), storeError('store_url_invalid', url, 'PREFIX_<ACCOUNT>_RECORD'));
    }
  });
});

describe('requireWritable', () => {
  it('names every account to write', async () => {
    const store = await openStore('env://TFA_CI', { env: {} });
    assert.throws(() => requireWritable(store, ['ml-prod', 'ml-dev']), storeError('store_read_only', 'env://TFA_CI is read-only', 'records of accounts "ml-prod", "ml-dev"', 'store migrate'));
    assert.throws(() => requireWritable(store, ['ml-prod']), storeError('store_read_only', 'the record of account "ml-prod"'));
  });

  it('passes writable stores and empty plans', async () => {
    const store = await openStore('env://TFA_CI', { env: {} });
    requireWritable(store, []);
    requireWritable({ location: 'vault://secret/tfa', writable: true }, ['ml-prod']);
  });
});
