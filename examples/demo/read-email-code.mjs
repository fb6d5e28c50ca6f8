// Prints the newest emailed code from the emulator's outbox, for the demo's `command` provider.
// The tool runs it with its own environment plus TFA_GITOPS_SENT_AFTER (epoch seconds).
const url = process.env.VAST_URL;
const key = process.env.VAST_API_KEY_DEMO;
if (!url || !key) {
  console.error('read-email-code: VAST_URL and VAST_API_KEY_DEMO must be set');
  process.exit(2);
}

const sentAfter = Number(process.env.TFA_GITOPS_SENT_AFTER ?? 0) - 1;
const answer = await fetch(new URL('/_emulator/outbox', url), { headers: { Authorization: `Bearer ${key}` } });
if (!answer.ok) {
  console.error(`read-email-code: the outbox answered ${answer.status}`);
  process.exit(1);
}

const { messages } = await answer.json();
const newest = messages.filter((m) => m.channel === 'email' && m.sent_at >= sentAfter).at(-1);
if (!newest) {
  console.error('read-email-code: no email code in the outbox');
  process.exit(1);
}
process.stdout.write(`${newest.code}\n`);
