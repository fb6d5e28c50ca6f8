/** A temporary folder with a manifest and an outbox-reading code provider, for end-to-end tests. */

import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A code provider script that prints the newest outbox code of a channel for the account. */
const OUTBOX_READER = `
const url = process.env.VAST_URL;
const key = process.env.TEST_API_KEY;
const channel = process.argv[2] ?? 'email';
const sentAfter = Number(process.env.TFA_GITOPS_SENT_AFTER ?? 0) - 1;
const answer = await fetch(new URL('/_emulator/outbox', url), { headers: { Authorization: 'Bearer ' + key } });
const { messages } = await answer.json();
const newest = messages.filter((m) => m.channel === channel && m.sent_at >= sentAfter).at(-1);
if (!newest) { console.error('no ' + channel + ' code'); process.exit(1); }
process.stdout.write(newest.code + '\\n');
`;

export async function makeWorkspace(manifest: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tfa-gitops-test-'));
  await writeFile(join(dir, 'tfa-gitops.yaml'), manifest);
  await writeFile(join(dir, 'read-outbox.mjs'), OUTBOX_READER);
  return dir;
}

/** A one-account manifest; `methods` is YAML for the methods list, indented by six spaces. */
export function manifestFor(methods: string, extra = ''): string {
  return `apiVersion: tfa-gitops/v1
kind: TwoFactorManifest
store: file://.tfa-gitops/secrets.age
accounts:
  - name: acct
    apiKey: { env: TEST_API_KEY }
    emailCodes: { command: node read-outbox.mjs email, timeoutSeconds: 20 }
    methods:
${methods}
${extra}`;
}
