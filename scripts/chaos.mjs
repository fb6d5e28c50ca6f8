#!/usr/bin/env node
// The chaos run at full size: 100 accounts on an emulator that answers 10% of API calls with
// 503, 5% with 429 (Retry-After: 1), drops 5% after committing them and adds 20 ms to each,
// applied until a fault-free plan shows no change. Prints the figures for docs/reliability.md.
//
// Usage: npm run build && node scripts/chaos.mjs [--accounts N] [--seed N] [--max-applies N] [--parallelism N]
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';

const { values } = parseArgs({
  options: {
    accounts: { type: 'string', default: '100' },
    seed: { type: 'string', default: '100' },
    'max-applies': { type: 'string', default: '10' },
    parallelism: { type: 'string', default: '8' },
  },
});

function wholeNumber(name, text) {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    console.error(`Error: --${name} takes a whole number of 1 or more, got "${text}"`);
    process.exit(1);
  }
  return value;
}

const accounts = wholeNumber('accounts', values.accounts);
const seed = Number(values.seed);
const maxApplies = wholeNumber('max-applies', values['max-applies']);
const parallelism = wholeNumber('parallelism', values.parallelism);

let runChaos;
let CHAOS_FAULTS;
try {
  ({ runChaos, CHAOS_FAULTS } = await import('../dist/test/helpers/chaos.js'));
} catch (error) {
  console.error(`Error: cannot load the built chaos runner (${error.message}); run "npm run build" first`);
  process.exit(1);
}

const faults = `seed=${seed};${CHAOS_FAULTS}`;
console.error(`chaos: accounts=${accounts} faults="${faults}" parallelism=${parallelism} node=${process.version} cpus=${cpus().length}`);
const figures = await runChaos({
  accounts,
  faults,
  maxApplies,
  parallelism,
  onProgress: (line) => console.error(`chaos: ${line}`),
});

const rows = [
  ['accounts', figures.accounts],
  ['fault seed', figures.seed],
  ['converged', figures.converged ? 'yes' : 'no'],
  ['applies needed', figures.applies],
  ['applies with an account error', figures.failedApplies],
  ['API requests', figures.requests],
  ['503 injected', figures.faults['503']],
  ['429 injected', figures.faults['429']],
  ['dropped after commit', figures.faults['drop-after-commit']],
  ['secrets lost', figures.secretsLost],
  ['methods without a seed', figures.methodsWithoutSeed],
  ['backup code sets lost', figures.backupCodeSetsLost],
  ['methods not in the manifest', figures.extraMethods],
  ['wrong codes sent', figures.wrongCodes],
  ['time', `${(figures.durationMs / 1000).toFixed(1)} s`],
];
for (const [name, value] of rows) console.log(`${name.padEnd(32)} ${value}`);
process.exitCode = figures.converged && figures.secretsLost === 0 && figures.methodsWithoutSeed === 0 ? 0 : 1;
