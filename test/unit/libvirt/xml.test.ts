import { describe, expect, it } from "vitest";
import { el, escapeAttr, escapeText, renderXml, unescapeXml } from "../../../providers/libvirt/xml.js";
import { parseWithRealParser } from "./xml-check.js";

const HOSTILE = `a<b>&c'd"e</name><evil x='1'/>]]>`;

describe("xml builder", () => {
  it("escapes text and attributes so a hostile string stays one value", () => {
    const xml = renderXml(el("root", { attr: HOSTILE }, el("name", {}, HOSTILE), el("empty")));
    const parsed = parseWithRealParser(xml);
    expect(parsed.tags).toEqual(["root", "name", "empty"]);
    expect(parsed.attrs).toEqual([HOSTILE]);
    expect(parsed.texts[1]).toBe(HOSTILE);
    expect(xml).not.toContain("<evil");
  });

  it("keeps newlines and tabs in attributes", () => {
    const value = "line1\nline2\tx";
    expect(parseWithRealParser(renderXml(el("r", { v: value }))).attrs).toEqual([value]);
  });

  it("drops characters XML cannot carry", () => {
    expect(escapeText("a\u0000b\u0007c")).toBe("abc");
  });

  it("round-trips through unescapeXml", () => {
    expect(unescapeXml(escapeAttr(HOSTILE))).toBe(HOSTILE);
    expect(unescapeXml("&amp;lt;")).toBe("&lt;");
  });

  it("skips falsy children and omits undefined attributes", () => {
    expect(renderXml(el("a", { x: undefined, y: 1 }, undefined, false, null, "t"))).toBe('<a y="1">t</a>');
  });

  it("rejects invalid element names (a programming error, not user input)", () => {
    expect(() => el("bad name")).toThrow(/invalid XML name/);
  });
});
