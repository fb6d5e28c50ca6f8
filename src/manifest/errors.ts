/** Errors in a manifest, each with its file, line, column and an excerpt of the source. */
import { TfaError } from '../errors.js';
import { positionAt, renderExcerpt, type SourceText } from './position.js';

/** One problem found in a manifest. */
export interface ManifestProblem {
  /** The file path as the user gave it. */
  file: string;
  /** 1-based line, absent when the problem concerns the whole file (e.g. a missing file). */
  line?: number;
  column?: number;
  /** One line that names the value and the fix, without the position. */
  message: string;
  /** The source line and a caret under the column, ready to print. */
  excerpt?: string;
}

/** Stable error codes of manifest errors. */
export type ManifestErrorCode = 'manifest_not_found' | 'manifest_unreadable' | 'manifest_invalid';

/** Maximum number of problems that one error message shows. The rest are only counted. */
export const MAX_PROBLEMS_SHOWN = 10;

/**
 * A manifest that cannot be read or is invalid. `message` is the full report, excerpts
 * included, so the CLI prints it as is. `file`, `line` and `column` are those of the first
 * problem, which the loader puts first because it is the one most worth fixing first.
 */
export class ManifestError extends TfaError {
  readonly file: string;
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly problems: readonly ManifestProblem[];

  constructor(code: ManifestErrorCode, problems: readonly ManifestProblem[], options: { cause?: unknown } = {}) {
    const first = problems[0];
    if (first === undefined) throw new RangeError('ManifestError needs at least one problem');

    super(code, formatProblems(problems), { cause: options.cause, exitCode: 1 });
    this.file = first.file;
    this.line = first.line;
    this.column = first.column;
    this.problems = problems;
  }

  /** Returns the report that `message` contains. */
  format(): string {
    return formatProblems(this.problems);
  }
}

/** Creates a problem located at an offset of a source text, with its excerpt. */
export function problemAt(source: SourceText, offset: number, message: string): ManifestProblem {
  const { line, column } = positionAt(source, offset);
  return { file: source.file, line, column, message, excerpt: renderExcerpt(source, line, column) };
}

/** Renders one problem as `file:line:column: message`, then its excerpt. */
export function formatProblem(problem: ManifestProblem): string {
  const location = problem.line === undefined
    ? problem.file
    : `${problem.file}:${problem.line}:${problem.column ?? 1}`;
  const headline = `${location}: ${problem.message}`;
  return problem.excerpt === undefined ? headline : `${headline}\n${problem.excerpt}`;
}

/** Renders up to MAX_PROBLEMS_SHOWN problems separated by blank lines, and counts the rest. */
export function formatProblems(problems: readonly ManifestProblem[]): string {
  const shown = problems.slice(0, MAX_PROBLEMS_SHOWN).map(formatProblem);
  const hidden = problems.length - shown.length;
  if (hidden > 0) shown.push(`(${hidden} more ${hidden === 1 ? 'problem' : 'problems'} not shown)`);
  return shown.join('\n\n');
}

/** Orders problems by file (in the order given), then line, then column. */
export function sortProblems(problems: readonly ManifestProblem[], fileOrder: readonly string[]): ManifestProblem[] {
  const rank = (file: string): number => {
    const index = fileOrder.indexOf(file);
    return index === -1 ? fileOrder.length : index;
  };

  return [...problems].sort(
    (a, b) =>
      rank(a.file) - rank(b.file) ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.column ?? 0) - (b.column ?? 0),
  );
}
