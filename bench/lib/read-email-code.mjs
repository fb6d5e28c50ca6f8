// The apply benchmark's email code provider: prints the newest emailed code in the emulator's
// outbox for the account that TFA_GITOPS_ACCOUNT names. The tool runs it with its own
// environment, where VAST_URL is the emulator and BENCH_KEY_NNNNN is the API key of account
// acct-NNNNN.
const account = process.env.TFA_GITOPS_ACCOUNT ?? '';
const key = process.env[`BENCH_KEY_${account.replace(/^acct-/, '')}`];
const url = process.env.VAST_URL;
if (!url || !key) {
  console.error(`read-email-code: VAST_URL or the API key of account "${account}" is missing`);
  process.exit(2);
}

const sentAfter = Number(process.env.TFA_GITOPS_SENT_AFTER ?? 0) - 1;
const response = await fetch(new URL('/_emulator/outbox', url), { headers: { Authorization: `Bearer ${key}` } });
if (!response.ok) {
  console.error(`read-email-code: the outbox request failed with HTTP ${response.status}`);
  process.exit(1);
}

const { messages } = await response.json();
const newest = messages.filter((message) => message.channel === 'email' && message.sent_at >= sentAfter).at(-1);
if (!newest) {
  console.error(`read-email-code: no email code for account "${account}" in the outbox`);
  process.exit(1);
}
process.stdout.write(`${newest.code}\n`);
