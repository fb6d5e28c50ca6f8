/** Escaping for the text formats: Markdown inline text and XML 1.0 text and attributes. */

/**
 * Escapes text for a Markdown table cell or list item: every character CommonMark could read
 * as markup gets a backslash, and line breaks become spaces so a row stays one line.
 */
export function escapeMarkdown(text: string): string {
  return text.replace(/\r\n|\r|\n/g, ' ').replace(/[\\`*_[\]<>|~&]/g, '\\$&');
}

// Characters XML 1.0 does not allow at all, not even escaped: C0 controls other than tab, LF
// and CR, lone surrogates, U+FFFE and U+FFFF.
const INVALID_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Escapes text content; characters XML cannot hold become U+FFFD. */
export function escapeXmlText(text: string): string {
  return text.replace(INVALID_XML, '\uFFFD').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Escapes a double-quoted attribute value; line breaks are kept as character references. */
export function escapeXmlAttribute(text: string): string {
  return escapeXmlText(text).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}
