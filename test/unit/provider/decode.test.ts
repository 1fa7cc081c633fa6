import { describe, expect, it } from "vitest";
import { decodeToolResult } from "../../../src/provider/decode.js";

const text = (value: string) => [{ type: "text", text: value }];

describe("decodeToolResult", () => {
  it("prefers structuredContent and keeps the provider's error code", () => {
    const result = decodeToolResult({
      content: text("ignored"),
      structuredContent: { success: false, error: { code: "RESOURCE_BUSY", message: "network busy", retryable: true } },
      isError: true,
    });
    expect(result).toEqual({ success: false, error: { code: "RESOURCE_BUSY", message: "network busy", retryable: true } });
  });

  it("decodes the JSON text when there is no structuredContent", () => {
    expect(decodeToolResult({ content: text('{"success":true,"resource":{"name":"k"}}') })).toEqual({ success: true, resource: { name: "k" } });
    expect(
      decodeToolResult({ content: text('{"success":false,"error":{"code":"NOT_FOUND","message":"vm \\"x\\" not found","retryable":false}}'), isError: true }),
    ).toEqual({ success: false, error: { code: "NOT_FOUND", message: 'vm "x" not found', retryable: false } });
  });

  it("reads the original's failure encoding (isError + plain text) as PROVIDER_ERROR", () => {
    expect(decodeToolResult({ content: text('key "k" not found'), isError: true })).toEqual({
      success: false,
      error: { code: "PROVIDER_ERROR", message: 'key "k" not found', retryable: false },
    });
  });

  it("reads non-JSON success text as the resource", () => {
    expect(decodeToolResult({ content: text("plain words") })).toEqual({ success: true, resource: "plain words" });
  });

  it("reports an empty response", () => {
    expect(decodeToolResult({ content: [] }).error?.message).toBe("empty response from provider");
    expect(decodeToolResult({ content: [], isError: true }).error?.code).toBe("PROVIDER_ERROR");
  });

  it("keeps an unknown error code in the message and fills retryable by code", () => {
    const result = decodeToolResult({ content: text('{"success":false,"error":{"code":"QUOTA","message":"too many"}}'), isError: true });
    expect(result.error).toEqual({ code: "PROVIDER_ERROR", message: "QUOTA: too many", retryable: false });
    expect(decodeToolResult({ content: text('{"success":false,"error":{"code":"TIMEOUT","message":"slow"}}') }).error?.retryable).toBe(true);
  });

  it("does not let a success body override isError", () => {
    expect(decodeToolResult({ content: text('{"success":true}'), isError: true }).success).toBe(false);
  });
});
