import assert from 'node:assert/strict';
import { test } from 'node:test';

import { CHAOS_FAULTS, runChaos } from './helpers/chaos.js';

test('chaos: 20 accounts converge, nothing lost', async (t) => {
  const figures = await runChaos({
    accounts: 20,
    faults: `seed=20;${CHAOS_FAULTS}`,
    maxApplies: 6,
    parallelism: 8,
    onProgress: (line) => t.diagnostic(line),
  });
  t.diagnostic(`chaos figures: ${JSON.stringify(figures)}`);

  assert.equal(figures.converged, true, `not converged after ${figures.applies} applies`);
  assert.equal(figures.secretsLost, 0);
  assert.equal(figures.methodsWithoutSeed, 0);
  assert.equal(figures.backupCodeSetsLost, 0);
  assert.equal(figures.extraMethods, 0);
  assert.equal(figures.wrongCodes, 0);
  // The run must really have met faults of every kind it asks for.
  assert.ok(figures.faults['503'] > 0, JSON.stringify(figures.faults));
  assert.ok(figures.faults['429'] > 0, JSON.stringify(figures.faults));
  assert.ok(figures.faults['drop-after-commit'] > 0, JSON.stringify(figures.faults));
});
