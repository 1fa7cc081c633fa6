import { execFileSync } from "node:child_process";

/** Parses XML with a real parser (Python's expat) and returns the text/attribute values it saw, in order. */
export function parseWithRealParser(xml: string): { tags: string[]; texts: string[]; attrs: string[] } {
  const script = [
    "import sys, json, xml.etree.ElementTree as ET",
    "root = ET.fromstring(sys.stdin.read())",
    "tags, texts, attrs = [], [], []",
    "for e in root.iter():",
    "    tags.append(e.tag)",
    "    texts.append(e.text or '')",
    "    attrs.extend(e.attrib.values())",
    "print(json.dumps({'tags': tags, 'texts': texts, 'attrs': attrs}))",
  ].join("\n");
  return JSON.parse(execFileSync("python3", ["-c", script], { input: xml, encoding: "utf8" })) as { tags: string[]; texts: string[]; attrs: string[] };
}
