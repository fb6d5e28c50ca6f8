import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { DEFAULT_STORE_URL, resolveStoreUrl } from '../src/manifest/store-url.js';

describe('resolveStoreUrl', () => {
  const base = '/work/team manifests';
  const cases: [store: string, expected: string | undefined][] = [
    [DEFAULT_STORE_URL, 'file:///work/team%20manifests/.tfa-gitops/secrets.age'],
    ['file://state/secrets.age', 'file:///work/team%20manifests/state/secrets.age'],
    ['file:state/secrets.age', 'file:///work/team%20manifests/state/secrets.age'],
    ['file://../shared/secrets.age', 'file:///work/shared/secrets.age'],
    ['state/secrets.age', 'file:///work/team%20manifests/state/secrets.age'],
    ['./secrets.age', 'file:///work/team%20manifests/secrets.age'],
    ['/srv/tfa/secrets.age', 'file:///srv/tfa/secrets.age'],
    ['file:///srv/tfa/secrets.age', 'file:///srv/tfa/secrets.age'],
    ['file:///srv/my%20tfa/secrets.age', 'file:///srv/my%20tfa/secrets.age'],
    ['file:/srv/tfa/secrets.age', 'file:///srv/tfa/secrets.age'],
    ['FILE://state/secrets.age', 'file:///work/team%20manifests/state/secrets.age'],
    ['vault://kv/tfa-gitops', 'vault://kv/tfa-gitops'],
    ['exec://./store-helper', 'exec://./store-helper'],
    ['env://TFA_SECRETS', 'env://TFA_SECRETS'],
    ['file://', undefined],
    ['file:', undefined],
  ];

  for (const [store, expected] of cases) {
    test(`resolves ${store}`, () => {
      assert.equal(resolveStoreUrl(store, base), expected);
    });
  }
});
