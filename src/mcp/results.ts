import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { errorMessage, formatIssues, isTestenvError } from "../errors.js";

// Texts are part of the wire contract: Forge shows content[0].text of a failure and reads only
// structuredContent of a success (contract §1.2).
export const TEXT = {
  created: "Created test environment resource using testenv-vm",
  deleted: "Deleted test environment resource using testenv-vm",
  valid: "Configuration is valid",
  invalid: (count: number) => `Configuration validation failed with ${count} error(s)`,
} as const;

/** The failure's message, then every issue about a field the message does not already name. */
export function describeFailure(error: unknown): string {
  const message = errorMessage(error);
  if (!isTestenvError(error) || error.issues.length === 0) return message;
  const missing = error.issues.filter((issue) => !message.includes(issue.field));
  return missing.length === 0 ? message : `${message}\n${formatIssues(missing)}`;
}

/** Machine-readable companion of a failure text, for agents (Forge reads only the text). */
export function failureDetails(error: unknown): Record<string, unknown> {
  if (!isTestenvError(error)) return { code: "INTERNAL", message: errorMessage(error) };
  return {
    code: error.code,
    message: error.message,
    retryable: error.retryable,
    ...(error.issues.length > 0 ? { issues: error.issues } : {}),
    ...(Object.keys(error.details).length > 0 ? { details: error.details } : {}),
  };
}

/**
 * A failure of a tool that has an outputSchema carries its details as a second, JSON text: clients check any
 * structuredContent against the schema, error results included.
 */
export function failureResult(prefix: string, error: unknown, options: { hasOutputSchema?: boolean } = {}): CallToolResult {
  if (options.hasOutputSchema) {
    return {
      content: [
        { type: "text", text: `${prefix}: ${describeFailure(error)}` },
        { type: "text", text: JSON.stringify({ error: failureDetails(error) }) },
      ],
      isError: true,
    };
  }
  return {
    content: [{ type: "text", text: `${prefix}: ${describeFailure(error)}` }],
    structuredContent: { error: failureDetails(error) },
    isError: true,
  };
}
