// A tiny XML builder: every attribute value and text node is escaped, so no user string can change
// the document's structure. Build trees with `el`, serialise with `renderXml`.

export type XmlAttrs = Record<string, string | number | boolean | undefined>;

export interface XmlElement {
  readonly name: string;
  readonly attrs: XmlAttrs;
  readonly children: readonly XmlNode[];
}

export interface XmlText {
  readonly text: string;
}

export type XmlNode = XmlElement | XmlText;
type Child = XmlNode | string | number | false | null | undefined;

const NAME = /^[A-Za-z_][A-Za-z0-9_.:-]*$/;

function checkName(name: string): string {
  // Element and attribute names only ever come from this codebase; a bad one is a programming error.
  if (!NAME.test(name)) throw new Error(`invalid XML name ${JSON.stringify(name)}`);
  return name;
}

/** An element; falsy children are skipped so optional parts read naturally. */
export function el(name: string, attrs: XmlAttrs = {}, ...children: Child[]): XmlElement {
  const nodes: XmlNode[] = [];
  for (const child of children) {
    if (child === false || child === null || child === undefined) continue;
    nodes.push(typeof child === "object" ? child : { text: String(child) });
  }
  return { name: checkName(name), attrs, children: nodes };
}

// XML 1.0 forbids most control characters even escaped; drop them rather than emit a document libvirt rejects.
// eslint-disable-next-line no-control-regex
const INVALID_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

export function escapeText(value: string): string {
  return value.replace(INVALID_CHARS, "").replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export function escapeAttr(value: string): string {
  return escapeText(value).replace(/"/g, "&quot;").replace(/'/g, "&apos;").replace(/\n/g, "&#10;").replace(/\r/g, "&#13;").replace(/\t/g, "&#9;");
}

function isText(node: XmlNode): node is XmlText {
  return "text" in node;
}

export function renderXml(node: XmlNode, indent = ""): string {
  if (isText(node)) return indent + escapeText(node.text);
  const attrs = Object.entries(node.attrs)
    .filter((entry): entry is [string, string | number | boolean] => entry[1] !== undefined)
    .map(([key, value]) => ` ${checkName(key)}="${escapeAttr(String(value))}"`)
    .join("");
  if (node.children.length === 0) return `${indent}<${node.name}${attrs}/>`;
  const only = node.children[0];
  if (node.children.length === 1 && only !== undefined && isText(only)) {
    return `${indent}<${node.name}${attrs}>${escapeText(only.text)}</${node.name}>`;
  }
  const inner = node.children.map((child) => renderXml(child, `${indent}  `)).join("\n");
  return `${indent}<${node.name}${attrs}>\n${inner}\n${indent}</${node.name}>`;
}

/** Reads the text of the first `<tag>…</tag>` (no attributes needed) in a document libvirt produced. */
export function unescapeXml(value: string): string {
  return value
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, code: string) => String.fromCodePoint(Number(code)))
    .replace(/&#x([0-9a-fA-F]+);/g, (_, code: string) => String.fromCodePoint(parseInt(code, 16)))
    .replace(/&amp;/g, "&");
}
