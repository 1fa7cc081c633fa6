import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { existsSync, realpathSync } from "node:fs";
import { isAbsolute, relative, resolve } from "node:path";
import { errorMessage, isTestenvError, quoted } from "../../errors.js";
import { loadSpecFile } from "../../spec/load.js";
import { ConfigValidateToolInput, parseValidateArgs } from "../inputs.js";
import { TEXT } from "../results.js";
import type { ToolDefinition } from "../tool.js";

type ValidationError = { field: string; message: string };

function validationResult(output: { valid: boolean; errors?: ValidationError[] | undefined }): CallToolResult {
  const errors = output.errors ?? [];
  const valid = output.valid && errors.length === 0;
  return {
    content: [{ type: "text", text: valid ? TEXT.valid : TEXT.invalid(errors.length) }],
    structuredContent: valid ? { valid: true } : { valid: false, errors: errors.map(({ field, message }) => ({ field, message })) },
  };
}

/** A failure as validation errors: its issues (with line:col folded into the message), or its message. */
function issuesOf(error: unknown): ValidationError[] {
  if (isTestenvError(error) && error.issues.length > 0) {
    return error.issues.map((i) => ({ field: i.field, message: i.line === undefined ? i.message : `${i.message} (line ${i.line}:${i.col ?? 1})` }));
  }
  return [{ field: "spec", message: errorMessage(error) }];
}

function invalid(error: unknown): CallToolResult {
  return validationResult({ valid: false, errors: issuesOf(error) });
}

/**
 * An MCP caller may only have spec files read: inside rootDir (symlinks followed) and named .yaml, .yml or .json,
 * so configPath cannot make the server read /etc/passwd or a key and echo parts of it back.
 */
function configPathProblem(rootDir: string, path: string): string | undefined {
  if (!/\.(ya?ml|json)$/i.test(path)) return `configPath must name a .yaml, .yml or .json spec file; got ${quoted(path)}`;
  // A missing file is left to the loader, which says so and reads nothing.
  if (!existsSync(path)) return undefined;
  const real = (p: string): string => (existsSync(p) ? realpathSync(p) : p);
  const inside = relative(real(rootDir), real(path));
  if (inside === "" || inside.startsWith("..") || isAbsolute(inside)) return `configPath must be inside rootDir ${rootDir}; got ${quoted(path)}`;
  return undefined;
}

// Never an error result: bad arguments and a spec file that does not load are validation errors too.
export const configValidateTool: ToolDefinition = {
  name: "config-validate",
  title: "Validate a testenv-vm spec",
  description: "Check a spec without creating anything: schema, names, providers, references, templates and cycles. Never an error result.",
  input: ConfigValidateToolInput,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  failurePrefix: "Validation failed",
  async handler(args, { engine }) {
    let input: ReturnType<typeof parseValidateArgs>;
    try {
      input = parseValidateArgs(args);
    } catch (error) {
      return invalid(error);
    }
    if (input.spec != null) return validationResult(await engine.validate(input.spec));
    if (input.configPath !== undefined && input.configPath !== "") {
      // A path to a forge.yaml or spec file: the same loader as the CLI, so errors carry line:col.
      const rootDir = resolve(input.directoryParams?.rootDir ?? process.cwd());
      const path = resolve(rootDir, input.configPath);
      const problem = configPathProblem(rootDir, path);
      if (problem !== undefined) return validationResult({ valid: false, errors: [{ field: "configPath", message: problem }] });
      try {
        const loaded = await loadSpecFile(path, { nameOption: "specName", ...(input.specName === undefined ? {} : { name: input.specName }) });
        return validationResult(await engine.validate(loaded.raw));
      } catch (error) {
        return invalid(error);
      }
    }
    return validationResult({ valid: false, errors: [{ field: "spec", message: "required: pass the testenv-vm spec (or configPath) to validate" }] });
  },
};
