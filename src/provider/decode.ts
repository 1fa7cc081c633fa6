import { ProviderErrorCode, RETRYABLE_BY_DEFAULT, type OperationError } from "../../api/errors.js";
import { OperationResult } from "../../api/provider.js";

/** The parts of an MCP CallToolResult that carry a provider's answer. */
export interface ToolResultLike {
  content?: unknown;
  structuredContent?: unknown;
  isError?: unknown;
}

export function failure(code: ProviderErrorCode, message: string, details?: Record<string, unknown>): OperationResult {
  const error: OperationError = { code, message, retryable: RETRYABLE_BY_DEFAULT[code] };
  if (details !== undefined) error.details = details;
  return { success: false, error };
}

/**
 * Decodes a tools/call result into an OperationResult, whichever encoding the provider uses:
 * ours (structuredContent + JSON text), or the original Go providers' (JSON text on success,
 * plain text + isError on failure, which loses the error code).
 */
export function decodeToolResult(result: ToolResultLike): OperationResult {
  const isError = result.isError === true;
  const structured = asOperationResult(result.structuredContent);
  if (structured !== undefined) return consistent(structured, isError);
  const text = firstText(result.content);
  if (text === undefined) {
    return failure("PROVIDER_ERROR", isError ? "provider reported an error with no text" : "empty response from provider");
  }
  const parsed = asOperationResult(parseJson(text));
  if (parsed !== undefined) return consistent(parsed, isError);
  if (isError) return failure("PROVIDER_ERROR", text);
  return { success: true, resource: text };
}

function firstText(content: unknown): string | undefined {
  if (!Array.isArray(content)) return undefined;
  for (const item of content as unknown[]) {
    if (typeof item === "object" && item !== null && (item as { type?: unknown }).type === "text") {
      const text = (item as { text?: unknown }).text;
      if (typeof text === "string") return text;
    }
  }
  return undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Accepts an OperationResult; an unknown error code becomes PROVIDER_ERROR that keeps the provider's code in the message. */
function asOperationResult(value: unknown): OperationResult | undefined {
  const strict = OperationResult.safeParse(value);
  if (strict.success) return strict.data;
  if (typeof value !== "object" || value === null || typeof (value as { success?: unknown }).success !== "boolean") return undefined;
  const raw = value as { success: boolean; error?: unknown; resource?: unknown };
  if (raw.success) return raw.resource === undefined ? { success: true } : { success: true, resource: raw.resource };
  const error = (typeof raw.error === "object" && raw.error !== null ? raw.error : {}) as Record<string, unknown>;
  const code = ProviderErrorCode.safeParse(error.code);
  const message = typeof error.message === "string" ? error.message : "provider reported a failure without a message";
  const decoded = code.success
    ? failure(code.data, message)
    : failure("PROVIDER_ERROR", typeof error.code === "string" ? `${error.code}: ${message}` : message);
  if (typeof error.retryable === "boolean" && decoded.error) decoded.error.retryable = error.retryable;
  return decoded;
}

/** isError wins over a success flag that claims otherwise. */
function consistent(result: OperationResult, isError: boolean): OperationResult {
  if (isError && result.success) {
    return failure("PROVIDER_ERROR", "provider flagged the call as an error but sent a success result");
  }
  if (!result.success && result.error === undefined) return failure("PROVIDER_ERROR", "provider reported a failure without an error");
  return result;
}
