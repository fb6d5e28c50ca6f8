#!/usr/bin/env node
// An example store helper for `store: exec://node folder-store.mjs --dir DIR`. It keeps each
// account's record in DIR/ACCOUNT.json as {"version": N, "record": {...}}, in plain text, so it
// shows the protocol and is no place for real seeds: a real helper calls `pass`, `op` or a
// cloud secret manager where this one reads and writes files.
//
// tfa-gitops appends the operation (get, store, erase or list) as the last argument, writes
// one JSON request on standard input and reads one JSON response from standard output. Errors go
// to standard error with exit code 1. Check-and-set: a write names the version it read, and a
// lock file per account makes the compare and the replace one step for concurrent helpers.
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const LOCK_TIMEOUT_MS = 10_000;
/** A lock older than this was left by a helper that died; a real operation takes milliseconds. */
const LOCK_STALE_MS = 30_000;
const ACCOUNT_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;

/** An error the helper reports on standard error before it exits with code 1. */
class HelperError extends Error {}

function fail(message) {
  throw new HelperError(message);
}

function parseArguments(argv) {
  let dir = process.env.TFA_STORE_HELPER_DIR ?? '.tfa-gitops/records';
  const rest = [];
  for (let index = 0; index < argv.length; index++) {
    if (argv[index] === '--dir') {
      dir = argv[++index] ?? fail('--dir needs a folder');
    } else {
      rest.push(argv[index]);
    }
  }
  if (rest.length !== 1) fail(`expected one operation (get, store, erase or list), got ${rest.length} arguments`);
  return { dir: resolve(dir), operation: rest[0] };
}

function readRequest() {
  let text;
  try {
    text = readFileSync(0, 'utf8');
  } catch (error) {
    fail(`cannot read the request from standard input: ${error.message}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    fail('the request on standard input is not JSON');
  }
}

function checkAccount(account) {
  // The name becomes a file name, so it must not reach outside the folder.
  if (typeof account !== 'string' || !ACCOUNT_PATTERN.test(account) || account.includes('..')) {
    fail(`invalid account name ${JSON.stringify(account)}: use lower-case letters, digits, ".", "_" and "-"`);
  }
  return account;
}

function checkVersion(value) {
  if (!Number.isSafeInteger(value) || value < 0) fail('"expectedVersion" must be an integer of at least 0');
  return value;
}

/** Returns {version, record} of the account, or {version: 0, record: null}. */
function load(dir, account) {
  let text;
  try {
    text = readFileSync(join(dir, `${account}.json`), 'utf8');
  } catch (error) {
    if (error.code === 'ENOENT') return { version: 0, record: null };
    fail(`cannot read the record of ${account}: ${error.message}`);
  }
  try {
    const entry = JSON.parse(text);
    if (!Number.isSafeInteger(entry.version) || entry.version < 1) throw new Error('no version');
    return entry;
  } catch {
    fail(`the file ${account}.json is damaged: it is not {"version": N, "record": {...}}`);
  }
}

/** Runs `task` while holding DIR/ACCOUNT.lock, created with O_EXCL. */
function withLock(dir, account, task) {
  const lockPath = join(dir, `${account}.lock`);
  const deadline = Date.now() + LOCK_TIMEOUT_MS;
  for (;;) {
    try {
      closeSync(openSync(lockPath, 'wx', 0o600));
      break;
    } catch (error) {
      if (error.code !== 'EEXIST') fail(`cannot create the lock file ${lockPath}: ${error.message}`);
    }

    // NOTE: two helpers that find one stale lock at once may both remove it. A lock goes stale
    // only after LOCK_STALE_MS, so this race needs a helper that died during an operation.
    const age = lockAgeMs(lockPath);
    if (age !== undefined && age > LOCK_STALE_MS) {
      rmSync(lockPath, { force: true });
      continue;
    }
    if (Date.now() > deadline) fail(`the lock file ${lockPath} is held by another helper; delete it if no helper runs`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10 + Math.random() * 20);
  }

  try {
    return task();
  } finally {
    rmSync(lockPath, { force: true });
  }
}

function lockAgeMs(lockPath) {
  try {
    return Date.now() - statSync(lockPath).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Replaces DIR/ACCOUNT.json through a temporary file and a rename, so a reader never sees half a file. */
function save(dir, account, entry) {
  const path = join(dir, `${account}.json`);
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(entry, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, path);
}

function respond(value) {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

function main() {
  const { dir, operation } = parseArguments(process.argv.slice(2));
  const request = readRequest();
  if (request.protocol !== 1) fail(`unsupported protocol version ${JSON.stringify(request.protocol)}; this helper speaks version 1`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });

  switch (operation) {
    case 'get': {
      respond(load(dir, checkAccount(request.account)));
      break;
    }
    case 'store': {
      const account = checkAccount(request.account);
      const expected = checkVersion(request.expectedVersion);
      if (typeof request.record !== 'object' || request.record === null) fail('"record" must be an object');
      withLock(dir, account, () => {
        const { version } = load(dir, account);
        if (version !== expected) return respond({ conflict: true, version });
        save(dir, account, { version: version + 1, record: request.record });
        respond({ version: version + 1 });
      });
      break;
    }
    case 'erase': {
      const account = checkAccount(request.account);
      const expected = checkVersion(request.expectedVersion);
      withLock(dir, account, () => {
        const { version } = load(dir, account);
        if (version !== expected) return respond({ conflict: true, version });
        rmSync(join(dir, `${account}.json`), { force: true });
        respond({ erased: true });
      });
      break;
    }
    case 'list': {
      const accounts = readdirSync(dir)
        .filter((name) => name.endsWith('.json'))
        .map((name) => name.slice(0, -'.json'.length))
        .filter((name) => ACCOUNT_PATTERN.test(name))
        .sort();
      respond({ accounts });
      break;
    }
    default:
      fail(`unknown operation ${JSON.stringify(operation)}: expected get, store, erase or list`);
  }
}

try {
  main();
} catch (error) {
  if (!(error instanceof HelperError)) throw error;
  process.stderr.write(`folder-store: ${error.message}\n`);
  process.exitCode = 1;
}
