import { test } from 'node:test';
import assert from 'node:assert/strict';
import { globToRegExp, parseShard, selectAccounts, shardOf } from '../src/cli/selection.js';

const NAMES = Array.from({ length: 200 }, (_, i) => `acct-${String(i).padStart(3, '0')}`);

test('glob: star and question mark', () => {
  assert.ok(globToRegExp('ml-*').test('ml-prod'));
  assert.ok(globToRegExp('ml-*').test('ml-'));
  assert.ok(!globToRegExp('ml-*').test('xml-prod'));
  assert.ok(globToRegExp('team-?').test('team-a'));
  assert.ok(!globToRegExp('team-?').test('team-ab'));
  assert.ok(globToRegExp('a.b').test('a.b'));
  assert.ok(!globToRegExp('a.b').test('axb'), 'a dot is literal');
  assert.ok(globToRegExp('exact').test('exact'));
  assert.ok(!globToRegExp('exact').test('exactly'));
});

test('shard: parses K/N', () => {
  assert.deepEqual(parseShard('2/4'), { index: 2, total: 4 });
  assert.deepEqual(parseShard('1/1'), { index: 1, total: 1 });
  for (const bad of ['0/4', '5/4', '1/0', '2', 'a/b', '1/2/3', '-1/2', '']) {
    assert.throws(() => parseShard(bad), /--shard takes K\/N/, bad);
  }
});

test('shard: splits without overlap', () => {
  const shards = [1, 2, 3, 4].map((index) => selectAccounts(NAMES, { patterns: [], shard: { index, total: 4 } }));
  assert.deepEqual(shards.flat().sort(), NAMES);
  for (const shard of shards) {
    assert.ok(shard.length > 25, `a share of 200 over 4 shards has ${shard.length} accounts`);
    assert.ok(shard.length < 75, `a share of 200 over 4 shards has ${shard.length} accounts`);
  }
});

test('shard: stable when accounts added', () => {
  const before = new Map(NAMES.map((name) => [name, shardOf(name, 4)]));
  const grown = ['new-one', ...NAMES, 'new-two'];
  for (const name of NAMES) assert.equal(shardOf(name, 4), before.get(name));
  const shardTwo = selectAccounts(grown, { patterns: [], shard: { index: 2, total: 4 } });
  for (const name of shardTwo) assert.ok(name.startsWith('new-') || before.get(name) === 2);
});

test('select: patterns keep manifest order', () => {
  assert.deepEqual(selectAccounts(['b-1', 'a-1', 'b-2', 'c'], { patterns: ['b-*', 'c'] }), ['b-1', 'b-2', 'c']);
  assert.deepEqual(selectAccounts(['b-1', 'a-1'], { patterns: [] }), ['b-1', 'a-1']);
});

test('select: unmatched pattern rejected', () => {
  assert.throws(
    () => selectAccounts(['ml-prod', 'ml-dev'], { patterns: ['ml-*', 'web-*'] }),
    (error: Error & { hint?: string }) => {
      assert.match(error.message, /--account "web-\*" matches no account in the manifest/);
      assert.match(error.hint ?? '', /ml-prod, ml-dev/);
      return true;
    },
  );
});

test('select: patterns then shard', () => {
  const patterns = ['acct-1*'];
  const selected = [1, 2].flatMap((index) => selectAccounts(NAMES, { patterns, shard: { index, total: 2 } }));
  assert.deepEqual(selected.sort(), NAMES.filter((n) => n.startsWith('acct-1')));
});
