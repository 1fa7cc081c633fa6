import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import type { z } from "zod";
import { CONFIG_SCHEMA_FLAG, configJsonSchema } from "../../api/config-schema.js";
import { createProviderServer, type ProviderImplementation } from "./server.js";
import { readProviderContext, type ProviderContext } from "./context.js";

export interface ProviderMainOptions {
  /** Binary name, e.g. testenv-vm-provider-stub. */
  binary: string;
  /** providerName reported in capabilities, e.g. stub. */
  name: string;
  version: string;
  /**
   * The schema of this provider's config (providers[].spec). Given, `<bin> --config-schema` prints its JSON Schema,
   * and `testenv-vm validate` checks a spec's config against it before anything starts (docs/provider-protocol.md).
   */
  configSchema?: z.ZodType;
  create(context: ProviderContext): Promise<ProviderImplementation> | ProviderImplementation;
}

/** `--config-schema`: the config's JSON Schema on stdout, before anything is read, made or connected to. */
function printConfigSchema(options: ProviderMainOptions): void {
  if (options.configSchema === undefined) {
    process.stderr.write(`${options.binary} publishes no config schema\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`${JSON.stringify(configJsonSchema(options.configSchema))}\n`);
}

/** Entry point shared by every provider bin: `--version`, `--config-schema`, `--mcp`, clean shutdown. */
export async function runProviderMain(options: ProviderMainOptions, argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  if (argv.includes(CONFIG_SCHEMA_FLAG)) {
    printConfigSchema(options);
    return;
  }
  if (argv.includes("--version") || argv.includes("-v") || argv[0] === "version") {
    process.stdout.write(`${options.binary} ${options.version}\n`);
    return;
  }
  if (!argv.includes("--mcp")) {
    process.stderr.write(`This binary must be run with --mcp flag\nUsage: ${options.binary} --mcp\n`);
    process.exitCode = 1;
    return;
  }
  let context: ProviderContext;
  let impl: ProviderImplementation;
  try {
    context = readProviderContext(options.name);
    impl = await options.create(context);
  } catch (error) {
    process.stderr.write(`${options.binary}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
    return;
  }
  const server = createProviderServer(impl, { name: options.binary, version: options.version }, context);
  let stopping = false;
  const stop = async (exitCode: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    try {
      await impl.shutdown?.();
    } catch (error) {
      context.log.warn(`shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    process.exit(exitCode);
  };
  process.stdin.on("end", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));
  process.on("SIGINT", () => void stop(130));
  await server.connect(new StdioServerTransport());
  context.log.debug("serving MCP on stdio");
}
