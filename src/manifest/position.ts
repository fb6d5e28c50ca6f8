/**
 * Source positions: from a JSON Pointer to the YAML node it names, from an offset to a line
 * and column, and from a line and column to an excerpt with a caret. Pure functions.
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node, type Pair } from 'yaml';

import type { SourcePosition } from './types.js';

/** A manifest file's text with what is needed to turn offsets into positions. */
export interface SourceText {
  /** The path shown in messages, as the user gave it. */
  file: string;
  text: string;
  lineCounter: LineCounter;
}

/** The YAML nodes found for a JSON Pointer. */
export interface NodeLookup {
  /** The deepest node reached: the whole target when `complete`, else its nearest ancestor. */
  node: Node | undefined;
  /** The map entry whose value is `node`, when the last segment walked was a map key. */
  pair: Pair<unknown, unknown> | undefined;
  /** True when every segment of the pointer was found. */
  complete: boolean;
}

/** Minimum width of the line-number column in excerpts. Longer line numbers widen it. */
const GUTTER_WIDTH = 4;

/** Splits a JSON Pointer ("/accounts/0/name") into unescaped segments. */
export function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];

  return pointer
    .slice(1)
    .split('/')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Returns a map key as the string that `toJS()` uses for it. */
export function keyText(key: unknown): string {
  if (isScalar(key)) return String(key.value);
  return String(key);
}

/**
 * Walks a document along pointer segments. Aliases are followed to their anchored node, so
 * a position points at the text that defines the value. A segment that cannot be found
 * stops the walk, and the result then carries the deepest node reached.
 */
export function findNode(doc: Document, segments: readonly string[]): NodeLookup {
  let node = resolveAlias(doc, doc.contents ?? undefined);
  let pair: Pair<unknown, unknown> | undefined;

  for (const segment of segments) {
    if (isMap(node)) {
      const entry = node.items.find((item) => keyText(item.key) === segment);
      if (entry === undefined) return { node, pair, complete: false };
      pair = entry;
      node = resolveAlias(doc, entry.value);
      continue;
    }

    if (isSeq(node)) {
      const item = node.items[Number(segment)];
      if (item === undefined) return { node, pair, complete: false };
      pair = undefined;
      node = resolveAlias(doc, item);
      continue;
    }

    return { node, pair, complete: false };
  }

  return { node, pair, complete: true };
}

function resolveAlias(doc: Document, value: unknown): Node | undefined {
  if (isAlias(value)) return value.resolve(doc) ?? value;
  if (isMap(value) || isSeq(value) || isScalar(value)) return value;
  return undefined;
}

/**
 * Returns the start offset of a node, or of its key when the node has no text of its own
 * (`label:` with nothing after it). Falls back to the document's start.
 */
export function startOffset(lookup: NodeLookup, preferKey = false): number {
  const keyNode = lookup.pair?.key;
  const keyStart = isScalar(keyNode) ? keyNode.range?.[0] : undefined;
  if (preferKey && keyStart !== undefined) return keyStart;

  const range = lookup.node?.range;
  const isEmpty = range === undefined || range === null || range[0] === range[1];
  if (isEmpty && keyStart !== undefined) return keyStart;
  return range?.[0] ?? 0;
}

/** Returns the source text of a node as written, e.g. `+12125551234` for a number. */
export function nodeSource(source: SourceText, node: Node | undefined): string | undefined {
  const range = node?.range;
  if (range === undefined || range === null) return undefined;
  return source.text.slice(range[0], range[1]);
}

/** Converts an offset into a 1-based position. */
export function positionAt(source: SourceText, offset: number): SourcePosition {
  const { line, col } = source.lineCounter.linePos(offset);
  return { file: source.file, line, column: col };
}

/** Returns the text of a 1-based line, without its line break. */
export function lineText(source: SourceText, line: number): string {
  const starts = source.lineCounter.lineStarts;
  const start = starts[line - 1];
  if (start === undefined) return '';

  const end = starts[line] ?? source.text.length;
  return source.text.slice(start, end).replace(/\r?\n$/, '');
}

/**
 * Renders the line at `line` and a caret under `column`:
 * ```
 *    7 |       - lable: ci-bot
 *      |         ^
 * ```
 * Tabs before the column are kept so the caret lines up in any tab width.
 */
export function renderExcerpt(source: SourceText, line: number, column: number): string {
  const text = lineText(source, line);
  const number = String(line);
  const width = Math.max(GUTTER_WIDTH, number.length);
  const padding = text
    .slice(0, Math.max(0, column - 1))
    .replace(/[^\t]/g, ' ')
    .padEnd(Math.max(0, column - 1));

  const sourceLine = `${number.padStart(width)} | ${text}`.trimEnd();
  const caretLine = `${' '.repeat(width)} | ${padding}^`;
  return `${sourceLine}\n${caretLine}`;
}

/**
 * Renders pointer segments as a path a reader can follow: `accounts[0].methods[1]`.
 * The root renders as "the top level".
 */
export function formatPath(segments: readonly string[]): string {
  if (segments.length === 0) return 'the top level';

  let path = '';
  for (const segment of segments) {
    if (/^\d+$/.test(segment)) path += `[${segment}]`;
    else path += path === '' ? segment : `.${segment}`;
  }
  return path;
}

/** Renders where a key sits: "in accounts[0].methods[1]", or "at the top level" for the root. */
export function formatLocation(segments: readonly string[]): string {
  return segments.length === 0 ? 'at the top level' : `in ${formatPath(segments)}`;
}
