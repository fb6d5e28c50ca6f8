/**
 * Parses one manifest file's text into a YAML document and its plain data. Reports the
 * problems that prevent this: YAML syntax errors, duplicate keys, several documents, an
 * empty file, a top level that is not a map, keys that are not scalars and aliases without
 * an anchor.
 */
import {
  LineCounter,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  parseDocument,
  type Document,
  type Node,
  type YAMLError,
  type YAMLMap,
} from 'yaml';

import { problemAt, type ManifestProblem } from './errors.js';
import { formatLocation, keyText, type SourceText } from './position.js';

/** A manifest file whose YAML is well formed and whose top level is a map. */
export interface ParsedManifestFile {
  source: SourceText;
  doc: Document.Parsed;
  /** The document as plain data (`doc.toJS()`), ready for schema validation. */
  data: Record<string, unknown>;
}

export type ParseResult =
  | { ok: true; file: ParsedManifestFile }
  | { ok: false; problems: ManifestProblem[] };

/** Maximum number of alias expansions, which stops "billion laughs" documents. */
const MAX_ALIAS_COUNT = 100;

const MANIFEST_SHAPE = 'a manifest is one YAML map that starts with apiVersion: tfa-gitops/v1 and kind: TwoFactorManifest';

/** Parses a manifest file's text with the YAML 1.2 core schema. */
export function parseManifestText(file: string, text: string): ParseResult {
  const lineCounter = new LineCounter();
  const source: SourceText = { file, text, lineCounter };
  // schema 'core' applies even under a `%YAML 1.1` directive, so `yes` stays a string and `012`
  // a decimal number. logLevel 'error' keeps the yaml library from printing warnings itself.
  const doc = parseDocument(text, {
    lineCounter,
    uniqueKeys: true,
    prettyErrors: false,
    schema: 'core',
    logLevel: 'error',
  });

  const syntaxProblems = describeYamlErrors(source, doc);
  if (syntaxProblems.length > 0) return { ok: false, problems: syntaxProblems };

  const contents = doc.contents;
  if (contents === null) {
    return { ok: false, problems: [problemAt(source, 0, `the file is empty: ${MANIFEST_SHAPE}`)] };
  }
  if (!isMap(contents)) {
    const found = isSeq(contents) ? 'a list' : 'a single value';
    const message = `the top level is ${found}, not a map: ${MANIFEST_SHAPE}`;
    return { ok: false, problems: [problemAt(source, contents.range[0], message)] };
  }

  const structureProblems = findStructureProblems(source, doc);
  if (structureProblems.length > 0) return { ok: false, problems: structureProblems };

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    // The yaml library throws a ReferenceError when aliases expand too often.
    if (!(error instanceof ReferenceError)) throw error;
    const message = `the file expands aliases more than ${MAX_ALIAS_COUNT} times; write the values out, or use fewer aliases`;
    return { ok: false, problems: [problemAt(source, 0, message)] };
  }

  return { ok: true, file: { source, doc, data: data as Record<string, unknown> } };
}

function describeYamlErrors(source: SourceText, doc: Document.Parsed): ManifestProblem[] {
  const problems: ManifestProblem[] = [];
  const linesSeen = new Set<number>();

  for (const error of doc.errors) {
    // The yaml library often reports one mistake several times on one line; the first
    // report is the one that names the cause.
    const line = source.lineCounter.linePos(error.pos[0]).line;
    if (linesSeen.has(line)) continue;
    linesSeen.add(line);

    problems.push(problemAt(source, error.pos[0], describeYamlError(source, doc, error)));
  }

  return problems;
}

function describeYamlError(source: SourceText, doc: Document.Parsed, error: YAMLError): string {
  switch (error.code) {
    case 'MULTIPLE_DOCS':
      return 'the file contains more than one YAML document, and a second one starts here: ' +
        'a manifest file is one document, so remove this "---" separator, ' +
        'or move each document into its own file and pass their folder';
    case 'DUPLICATE_KEY':
      return describeDuplicateKey(source, doc, error.pos[0]);
    case 'TAB_AS_INDENT':
      return 'invalid YAML: this line is indented with a tab; indent with spaces';
    case 'BAD_SCALAR_START':
      return `invalid YAML: ${lowerFirst(error.message)}; put the value in quotes`;
    case 'BAD_DQ_ESCAPE':
      return `invalid YAML: ${lowerFirst(error.message)} in a double-quoted string; ` +
        'write \\\\ for a backslash, or use single quotes';
    case 'BLOCK_AS_IMPLICIT_KEY':
      return 'invalid YAML: a "key: value" pair cannot follow another key on the same line; ' +
        'put it on its own line, indented, or quote the value if it contains ": "';
    case 'MULTILINE_IMPLICIT_KEY':
      return 'invalid YAML: a key must fit on one line; check the indentation of this line and the one before';
    case 'BAD_INDENT':
      return `invalid YAML: ${lowerFirst(error.message)}; check the indentation of this line`;
    case 'UNEXPECTED_TOKEN':
      return `invalid YAML: ${lowerFirst(error.message)}; check the indentation, ` +
        'and that each key is followed by ": "';
    default:
      return `invalid YAML: ${lowerFirst(error.message)}`;
  }
}

/** Names the repeated key, where it is and the line that set it first. */
function describeDuplicateKey(source: SourceText, doc: Document.Parsed, keyOffset: number): string {
  let found: { key: string; segments: string[]; firstOffset: number } | undefined;

  walkMaps(doc.contents, (map, segments) => {
    const index = map.items.findIndex((pair) => isScalar(pair.key) && pair.key.range?.[0] === keyOffset);
    const duplicate = map.items[index];
    if (found !== undefined || duplicate === undefined) return;

    const key = keyText(duplicate.key);
    const first = map.items.find((pair) => keyText(pair.key) === key);
    const firstOffset = isScalar(first?.key) ? first.key.range?.[0] ?? keyOffset : keyOffset;
    found = { key, segments: segments(), firstOffset };
  });

  if (found === undefined) return 'duplicate key: each key may appear once in a map; remove one of them';

  const firstLine = source.lineCounter.linePos(found.firstOffset).line;
  return `duplicate key "${found.key}" ${formatLocation(found.segments)}: it is already set at line ${firstLine}; ` +
    'keep one of the two';
}

/**
 * Finds keys that are lists or maps, and aliases that name no anchor defined before them.
 * `toJS()` would turn the first into odd strings and throw on the second.
 */
function findStructureProblems(source: SourceText, doc: Document.Parsed): ManifestProblem[] {
  const problems: ManifestProblem[] = [];

  walkMaps(doc.contents, (map, segments) => {
    for (const pair of map.items) {
      const key = pair.key as Node | null;
      if (key !== null && !isScalar(key)) {
        const message = `a key ${formatLocation(segments())} is a list or a map; write keys as plain words`;
        problems.push(problemAt(source, key.range?.[0] ?? 0, message));
      }
    }
  });

  walkNodes(doc.contents, (node) => {
    if (isAlias(node) && node.resolve(doc) === undefined) {
      const message = `alias *${node.source} refers to no anchor: define &${node.source} before it, or write the value`;
      problems.push(problemAt(source, node.range?.[0] ?? 0, message));
    }
  });

  return problems;
}

/**
 * Calls `visit` for every map in the tree, with a function that returns the pointer segments
 * that lead to it. The segments are built only when asked for, because a visitor needs them
 * only for a problem, and building them for every map of a large manifest cost more than the
 * checks themselves.
 */
function walkMaps(node: unknown, visit: (map: YAMLMap<unknown, unknown>, segments: () => string[]) => void): void {
  // The keys (or sequence indexes) from the root to the node being visited.
  const path: unknown[] = [];
  const segments = () => path.map((step) => (typeof step === 'number' ? String(step) : keyText(step)));

  const walk = (current: unknown): void => {
    if (isMap(current)) {
      visit(current, segments);
      for (const pair of current.items) {
        path.push(pair.key);
        walk(pair.value);
        path.pop();
      }
      return;
    }

    if (isSeq(current)) {
      current.items.forEach((item, index) => {
        path.push(index);
        walk(item);
        path.pop();
      });
    }
  };
  walk(node);
}

/** Calls `visit` for every node in the tree, keys included. */
function walkNodes(node: unknown, visit: (node: Node) => void): void {
  if (isMap(node)) {
    visit(node);
    for (const pair of node.items) {
      walkNodes(pair.key, visit);
      walkNodes(pair.value, visit);
    }
    return;
  }

  if (isSeq(node)) {
    visit(node);
    for (const item of node.items) walkNodes(item, visit);
    return;
  }

  if (isScalar(node) || isAlias(node)) visit(node);
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
