import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { LineCounter, parseDocument } from 'yaml';

import { findNode, formatPath, pointerSegments, renderExcerpt, startOffset, type SourceText } from '../src/manifest/position.js';
import { editDistance, suggestNearest } from '../src/manifest/suggest.js';

const METHOD_KEYS = ['label', 'type', 'primary', 'rotateAfterDays', 'phone', 'codes'];

describe('suggestNearest', () => {
  const cases: [given: string, expected: string | undefined][] = [
    ['lable', 'label'],
    ['Label', 'label'],
    ['primry', 'primary'],
    ['tpye', 'type'],
    ['phon', 'phone'],
    ['rotate', 'rotateAfterDays'],
    ['rotateAfterDay', 'rotateAfterDays'],
    ['code', 'codes'],
    ['colour', undefined],
    ['p', undefined],
    ['', undefined],
  ];

  for (const [given, expected] of cases) {
    test(`suggests for "${given}"`, () => {
      assert.equal(suggestNearest(given, METHOD_KEYS), expected);
    });
  }

  test('counts a swap as one edit', () => {
    assert.equal(editDistance('lable', 'label'), 1);
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('', 'abc'), 3);
  });
});

describe('positions and excerpts', () => {
  const text = 'accounts:\n  - name: ml-prod\n    methods:\n\n      - lable: ci-bot\n';
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const source: SourceText = { file: 'x.yaml', text, lineCounter };

  test('pointer segments unescaped', () => {
    assert.deepEqual(pointerSegments(''), []);
    assert.deepEqual(pointerSegments('/accounts/0/a~1b~0c'), ['accounts', '0', 'a/b~c']);
  });

  test('path rendered with indexes', () => {
    assert.equal(formatPath([]), 'the top level');
    assert.equal(formatPath(['accounts', '0', 'methods', '1', 'phone']), 'accounts[0].methods[1].phone');
  });

  test('node found by pointer', () => {
    const lookup = findNode(doc, ['accounts', '0', 'methods', '0', 'lable']);
    assert.equal(lookup.complete, true);
    assert.deepEqual(lineCounter.linePos(startOffset(lookup)), { line: 5, col: 16 });
    assert.deepEqual(lineCounter.linePos(startOffset(lookup, true)), { line: 5, col: 9 });
  });

  test('missing node falls back to ancestor', () => {
    const lookup = findNode(doc, ['accounts', '3', 'name']);
    assert.equal(lookup.complete, false);
    assert.deepEqual(lineCounter.linePos(startOffset(lookup)), { line: 2, col: 3 });
  });

  test('excerpt puts caret under column', () => {
    assert.equal(renderExcerpt(source, 5, 9), '   5 |       - lable: ci-bot\n     |         ^');
  });

  test('excerpt keeps tabs before caret', () => {
    const tabbed = 'a:\n\t- b\n';
    const counter = new LineCounter();
    parseDocument(tabbed, { lineCounter: counter, prettyErrors: false });

    const excerpt = renderExcerpt({ file: 'y.yaml', text: tabbed, lineCounter: counter }, 2, 2);

    assert.equal(excerpt, '   2 | \t- b\n     | \t^');
  });

  test('excerpt widens for long line numbers', () => {
    const long = `${'\n'.repeat(12344)}key: value\n`;
    const counter = new LineCounter();
    parseDocument(long, { lineCounter: counter });

    const excerpt = renderExcerpt({ file: 'y.yaml', text: long, lineCounter: counter }, 12345, 6);

    assert.equal(excerpt, '12345 | key: value\n      |      ^');
  });
});
