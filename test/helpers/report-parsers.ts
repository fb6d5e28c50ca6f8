/**
 * Small strict parsers for checking report output in tests: the first table of a Markdown
 * document, and XML (elements, attributes, text and references only) that throws on anything
 * not well formed.
 */

/** Splits a table row on the pipes that are not escaped with a backslash. */
function cells(row: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < row.length; i++) {
    const char = row[i];
    if (char === '\\' && i + 1 < row.length) {
      current += row[i + 1];
      i++;
    } else if (char === '|') {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current);
  // A row starts and ends with a pipe, so the first and last parts are empty.
  return parts.slice(1, -1).map((cell) => cell.trim().replace(/^`(.*)`$/, '$1'));
}

/** Returns the first GitHub-flavoured Markdown table as rows of header -> cell. */
export function parseMarkdownTable(markdown: string): Array<Record<string, string>> {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line, i) => line.startsWith('|') && /^\|(\s*:?-{3,}:?\s*\|)+$/.test(lines[i + 1] ?? ''));
  if (start < 0) throw new Error('no Markdown table found');

  const header = cells(lines[start] ?? '');
  const rows: Array<Record<string, string>> = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const values = cells(line);
    if (values.length !== header.length) throw new Error(`row has ${values.length} cells, the header ${header.length}: ${line}`);
    rows.push(Object.fromEntries(header.map((name, i) => [name, values[i] ?? ''])));
  }
  return rows;
}

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const NAME = /[A-Za-z_:][\w.:-]*/y;
const REFERENCE = /&(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9A-Fa-f]+);/y;
const INVALID_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(reference: string): string {
  const body = reference.slice(1, -1);
  if (body.startsWith('#x')) return String.fromCodePoint(parseInt(body.slice(2), 16));
  if (body.startsWith('#')) return String.fromCodePoint(parseInt(body.slice(1), 10));
  return ENTITIES[body] ?? '';
}

/**
 * Parses an XML document and returns its root element. Throws with the offset on a
 * character XML forbids, a bare `&` or `<`, a repeated attribute, a mismatched or unclosed
 * tag, or anything after the root element. Comments, CDATA and DOCTYPE are rejected too,
 * because the reports never write them.
 */
export function parseXml(xml: string): XmlElement {
  if (INVALID_CHAR.test(xml)) throw new Error('the document contains a character XML does not allow');
  let pos = 0;
  const fail = (why: string): never => {
    throw new Error(`${why} at offset ${pos}: ${JSON.stringify(xml.slice(pos, pos + 30))}`);
  };
  const skipSpace = () => {
    while (pos < xml.length && /\s/.test(xml[pos] ?? '')) pos++;
  };
  const readName = (): string => {
    NAME.lastIndex = pos;
    const match = NAME.exec(xml);
    if (!match) return fail('expected a name');
    pos += match[0].length;
    return match[0];
  };
  const readCharacters = (stop: RegExp): string => {
    let out = '';
    while (pos < xml.length && !stop.test(xml[pos] ?? '')) {
      if (xml[pos] === '&') {
        REFERENCE.lastIndex = pos;
        const match = REFERENCE.exec(xml);
        if (!match) fail('bare & (not a reference)');
        out += decode((match as RegExpExecArray)[0]);
        pos += (match as RegExpExecArray)[0].length;
      } else {
        out += xml[pos];
        pos++;
      }
    }
    return out;
  };

  const declaration = /^<\?xml version="1\.0"( encoding="UTF-8")?\?>/.exec(xml);
  if (declaration) pos = declaration[0].length;
  skipSpace();

  const parseElement = (): XmlElement => {
    if (xml[pos] !== '<') fail('expected <');
    pos++;
    const element: XmlElement = { name: readName(), attributes: {}, children: [], text: '' };
    for (;;) {
      const before = pos;
      skipSpace();
      if (xml.startsWith('/>', pos)) {
        pos += 2;
        return element;
      }
      if (xml[pos] === '>') {
        pos++;
        break;
      }
      if (pos === before) fail('expected whitespace before an attribute');
      const attribute = readName();
      if (attribute in element.attributes) fail(`attribute ${attribute} repeated`);
      if (xml[pos] !== '=') fail('expected =');
      pos++;
      const quote = xml[pos];
      if (quote !== '"' && quote !== "'") return fail('expected a quoted value');
      pos++;
      const value = readCharacters(new RegExp(`[${quote}<]`));
      if (xml[pos] !== quote) fail('< in an attribute value, or an unclosed value');
      pos++;
      element.attributes[attribute] = value;
    }

    for (;;) {
      element.text += readCharacters(/</);
      if (pos >= xml.length) fail(`element <${element.name}> is not closed`);
      if (xml.startsWith('</', pos)) {
        pos += 2;
        const name = readName();
        if (name !== element.name) fail(`</${name}> closes <${element.name}>`);
        skipSpace();
        if (xml[pos] !== '>') fail('expected >');
        pos++;
        return element;
      }
      if (xml.startsWith('<!', pos) || xml.startsWith('<?', pos)) fail('comments, CDATA and processing instructions are not expected');
      element.children.push(parseElement());
    }
  };

  const root = parseElement();
  skipSpace();
  if (pos !== xml.length) fail('content after the root element');
  if (root.text.includes(']]>')) fail(']]> in text');
  return root;
}

/** Returns every element below `root` (root included) with the given name, in document order. */
export function findAll(root: XmlElement, name: string): XmlElement[] {
  const found = root.name === name ? [root] : [];
  for (const child of root.children) found.push(...findAll(child, name));
  return found;
}
