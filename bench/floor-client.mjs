/**
 * The floor of a plan: a plain HTTP client that sends the same `GET /api/v0/tfa/status/`
 * requests as `tfa-gitops plan` would, with node's fetch at the same concurrency, and does
 * nothing else. Usage: node floor-client.mjs URL CONCURRENCY PREFIX, where every environment
 * variable whose name starts with PREFIX contains one account's API key.
 */

const [url, concurrencyText, prefix] = process.argv.slice(2);
const concurrency = Number(concurrencyText);
if (!url || !prefix || !Number.isInteger(concurrency) || concurrency < 1) {
  process.stderr.write('usage: node floor-client.mjs URL CONCURRENCY PREFIX\n');
  process.exit(2);
}

const keys = Object.entries(process.env)
  .filter(([name]) => name.startsWith(prefix))
  .sort(([a], [b]) => (a < b ? -1 : 1))
  .map(([, key]) => key);

const statusUrl = `${url}/api/v0/tfa/status/`;
let next = 0;
let failures = 0;

async function worker() {
  while (next < keys.length) {
    const key = keys[next++];
    const response = await fetch(statusUrl, { headers: { Authorization: `Bearer ${key}`, Accept: 'application/json' } });
    const body = await response.json();
    if (response.status !== 200 || !Array.isArray(body.methods)) failures++;
  }
}

await Promise.all(Array.from({ length: Math.min(concurrency, keys.length) }, worker));
if (failures > 0) {
  process.stderr.write(`floor-client: ${failures} of ${keys.length} requests failed\n`);
  process.exitCode = 1;
}
