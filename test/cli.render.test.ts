import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type { AccountDrift } from '../src/plan/drift.js';
import type { AccountPlan } from '../src/plan/types.js';
import { renderDriftJson, renderJson } from '../src/cli/render/json.js';
import { renderDriftJunit, renderPlanJunit } from '../src/cli/render/junit.js';
import { renderDriftMarkdown, renderPlanMarkdown, SECTION_BUDGET } from '../src/cli/render/markdown.js';
import { escapeMarkdown } from '../src/cli/render/escape.js';
import { findAll, parseMarkdownTable, parseXml } from './helpers/report-parsers.js';

const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020.js') as new (options: object) => { compile(schema: object): ((data: unknown) => boolean) & { errors?: unknown } };
const root = join(import.meta.dirname, '..', '..');

async function schema(name: string) {
  const ajv = new Ajv2020({ allErrors: true, allowUnionTypes: true, validateFormats: false });
  return ajv.compile(JSON.parse(await readFile(join(root, 'schemas', name), 'utf8')));
}

/** A label with every character the formats must escape, plus a control character. */
const NASTY = 'a<b>&"c\'|*_`[x]~\u0001';

/** One plan with every action kind and every verifier kind. */
const EVERY_ACTION: AccountPlan = {
  account: 'ml-prod',
  actions: [
    { kind: 'adopt', methodId: 1, type: 'totp', label: 'adopted', reason: 'seed without id' },
    { kind: 'create', type: 'totp', label: NASTY, primary: true, reason: `no TOTP method labelled "${NASTY}"` },
    { kind: 'create', type: 'sms', label: 'oncall', primary: false, phone: '+12125551234', reason: 'no SMS method' },
    { kind: 'replace', methodId: 2, type: 'sms', label: 'pager', primary: false, phone: '+12125559999', reason: 'number changed', verifier: { kind: 'sms', methodId: 5, label: 'other' } },
    { kind: 'repair', methodId: 3, type: 'totp', label: 'lost', primary: false, reason: 'seed lost', verifier: { kind: 'totp', methodId: null, label: NASTY } },
    { kind: 'rotate', methodId: 4, type: 'totp', label: 'old', primary: false, reason: 'seed old', verifier: { kind: 'email' } },
    { kind: 'update', methodId: 6, type: 'totp', label: 'renamed', changes: { label: { from: null, to: 'renamed' }, primary: { from: false, to: true } }, reason: 'label unset' },
    { kind: 'regenerate-backup-codes', reason: '2 left', verifier: { kind: 'backupCode' } },
    { kind: 'delete', methodId: 8, type: 'totp', label: null, reason: 'not in the manifest', verifier: null },
  ],
  drift: [
    { kind: 'unmanaged-method', methodId: 9, label: null, message: 'extra' },
    { kind: 'locked-method', methodId: 6, label: 'renamed', message: 'locked' },
    { kind: 'orphan-record', methodId: 11, label: 'gone', message: 'orphan' },
  ],
  authorization: { kind: 'totp', methodId: 1, label: 'adopted' },
  blockers: [`cannot verify "${NASTY}"`],
};
const QUIET: AccountPlan = { account: 'ml-dev', actions: [], drift: [], authorization: null, blockers: [] };

const DRIFT: AccountDrift[] = [
  { account: 'ml-dev', status: 'in-sync', findings: [], blockers: [], error: null },
  {
    account: 'ml-prod',
    status: 'drifted',
    findings: [
      { kind: 'extra-method', methodId: 9, label: NASTY, reason: `TOTP method "${NASTY}" (#9) is not in the manifest`, fix: null },
      { kind: 'different-method', methodId: 6, label: 'x', reason: 'label\nchanged', fix: 'update' },
    ],
    blockers: [],
    error: null,
  },
  { account: 'ml-qa', status: 'failed', findings: [], blockers: [], error: `GET failed: <html> & "quotes" ${NASTY}` },
];

test('plan json: every action validates', async () => {
  const validate = await schema('plan.schema.json');
  const document = JSON.parse(renderJson([EVERY_ACTION, QUIET], [{ account: 'ml-qa', error: 'boom' }]));
  assert.ok(validate(document), JSON.stringify(validate.errors, null, 2));
  assert.deepEqual(document.summary, { add: 5, change: 3, remove: 4 });
  assert.equal(document.changes, true);
  assert.equal(document.formatVersion, 1);
});

test('plan json: schema rejects unknown fields', async () => {
  const validate = await schema('plan.schema.json');
  const document = JSON.parse(renderJson([QUIET], []));
  document.accounts[0].secret = 'JBSWY3DP';
  assert.equal(validate(document), false);
});

test('drift json: validates with failures', async () => {
  const validate = await schema('drift.schema.json');
  const document = JSON.parse(renderDriftJson(DRIFT, 90));
  assert.ok(validate(document), JSON.stringify(validate.errors, null, 2));
  assert.deepEqual(document.summary, { accounts: 3, inSync: 1, drifted: 1, failed: 1, findings: 2 });

  document.accounts[0].error = 'not failed but has an error';
  assert.equal(validate(document), false, 'an error needs status failed');
});

test('junit: escapes every character', () => {
  for (const xml of [renderPlanJunit([EVERY_ACTION, QUIET], [{ account: 'ml-qa', error: NASTY }]), renderDriftJunit(DRIFT)]) {
    const document = parseXml(xml);
    const cases = findAll(document, 'testcase');
    assert.equal(cases.length, 3);
    assert.equal(findAll(document, 'failure').length, 1);
    assert.equal(findAll(document, 'error').length, 1);
    assert.equal(document.attributes['failures'], '1');
    assert.equal(document.attributes['errors'], '1');
    const text = findAll(document, 'failure')[0]?.text ?? '';
    assert.ok(text.includes('a<b>&"c\'|*_`[x]~\uFFFD'), 'the label survives, the control character is replaced');
  }
});

test('junit: plan without changes passes', () => {
  const document = parseXml(renderPlanJunit([QUIET], []));
  assert.equal(document.attributes['tests'], '1');
  assert.equal(document.attributes['failures'], '0');
  assert.equal(findAll(document, 'testcase')[0]?.children.length, 0);
});

test('xml checker: rejects malformed', () => {
  const bad = [
    '<a>&</a>',
    '<a b="<"/>',
    '<a><b></a></b>',
    '<a b="1" b="2"/>',
    '<a/><b/>',
    '<a>\u0001</a>',
    '<a>',
    '<a b=1/>',
  ];
  for (const xml of bad) assert.throws(() => parseXml(xml), Error, xml);
  assert.equal(parseXml('<?xml version="1.0" encoding="UTF-8"?>\n<a x="&lt;&#65;">t&amp;<b/></a>\n').attributes['x'], '<A');
});

test('markdown: table survives escaping', () => {
  const rows = parseMarkdownTable(renderDriftMarkdown(DRIFT));
  assert.deepEqual(rows, [
    { Account: 'ml-prod', Result: 'drifted', Findings: '2', Kinds: 'extra-method, different-method' },
    { Account: 'ml-qa', Result: 'failed', Findings: '0', Kinds: '' },
  ]);

  const planRows = parseMarkdownTable(renderPlanMarkdown([EVERY_ACTION, QUIET], [{ account: 'ml-qa', error: NASTY }]));
  assert.deepEqual(planRows, [
    { Account: 'ml-prod', Result: 'blocked', Add: '5', Change: '3', Remove: '4' },
    { Account: 'ml-qa', Result: 'failed', Add: '', Change: '', Remove: '' },
  ]);
});

test('markdown: escapes section text', () => {
  const markdown = renderDriftMarkdown(DRIFT);
  assert.ok(markdown.includes(escapeMarkdown(`TOTP method "${NASTY}" (#9)`)));
  assert.ok(!markdown.includes(NASTY), 'the raw label never appears');
  assert.match(markdown, /label changed/, 'a line break becomes a space');
  assert.equal(escapeMarkdown('a|b'), 'a\\|b');
  assert.equal(escapeMarkdown('<script>'), '\\<script\\>');
});

test('markdown: no drift says so', () => {
  const markdown = renderDriftMarkdown([DRIFT[0] as AccountDrift]);
  assert.match(markdown, /\*\*No drift\.\*\* All 1 account\(s\) match the manifest\./);
  assert.throws(() => parseMarkdownTable(markdown), /no Markdown table/);
  assert.match(renderPlanMarkdown([QUIET], []), /\*\*No changes\.\*\* All 1 account\(s\) match the manifest\./);
});

test('markdown: large fleet fits a comment', () => {
  const many: AccountDrift[] = Array.from({ length: 3000 }, (_, i) => ({
    account: `acct-${i}`,
    status: 'drifted',
    findings: [{ kind: 'extra-method', methodId: i, label: 'x', reason: 'TOTP method "x" is not in the manifest (unmanaged: report leaves it)', fix: null }],
    blockers: [],
    error: null,
  }));
  const markdown = renderDriftMarkdown(many);
  assert.ok(markdown.length < 65_536, `${markdown.length} characters`);

  const rows = parseMarkdownTable(markdown);
  assert.ok(rows.length > 100);
  assert.ok(rows.length < 3000);
  assert.match(markdown, new RegExp(`_${3000 - rows.length} more table row\\(s\\) left out`));

  const sections = markdown.split('\n').filter((line) => line.startsWith('#### '));
  assert.ok(sections.length > 100);
  assert.match(markdown, new RegExp(`_${3000 - sections.length} more account section\\(s\\) left out`));
  assert.ok(markdown.slice(markdown.indexOf('#### ')).length <= SECTION_BUDGET + 500);
});

test('markdown: action markers survive', () => {
  const markdown = renderPlanMarkdown([EVERY_ACTION], []);
  const items = markdown.split('\n').filter((line) => line.startsWith('- '));
  for (const item of items) assert.doesNotMatch(item, /^- [-+~] /, `a bare marker makes a nested list: ${item}`);

  const markers = items.map((item) => /^- `([^`]+)` /.exec(item)?.[1]).filter((marker) => marker !== undefined);
  assert.deepEqual(markers, ['~', '+', '+', '-/+', '-/+', '-/+', '~', '~', '-']);
  assert.ok(items.includes('- `-` delete totp method #8: not in the manifest'));
  assert.ok(items.includes('- `+` create sms method "oncall": no SMS method'));
});
