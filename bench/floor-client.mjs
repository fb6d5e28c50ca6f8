/**
 * The floor of a plan: a plain HTTP client that sends the same `GET /api/v0/tfa/status/`
 * requests as `tfa-gitops plan` would, with node's fetch at the same concurrency, and does
 * nothing else. Usage: node floor-client.mjs URL CONCURRENCY KEYS_FILE, where KEYS_FILE is a
 * JSON array of the accounts' API keys. The keys come from a file rather than from the
 * environment, because node's process.env takes time that grows with the square of the
 * number of variables to enumerate (0.6 s for 10,000), which is no part of sending requests.
 */
import { readFileSync } from 'node:fs';

const [url, concurrencyText, keysFile] = process.argv.slice(2);
const concurrency = Number(concurrencyText);
if (!url || !keysFile || !Number.isInteger(concurrency) || concurrency < 1) {
  process.stderr.write('usage: node floor-client.mjs URL CONCURRENCY KEYS_FILE\n');
  process.exit(2);
}

const keys = JSON.parse(readFileSync(keysFile, 'utf8'));
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
