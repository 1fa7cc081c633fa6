import type { CommandDefinition } from "./command.js";
import { flagLabel, flagOf, type FlagRef } from "./flags.js";

function flagLines(refs: readonly FlagRef[]): string[] {
  const flags = refs.map(flagOf);
  const labels = flags.map(flagLabel);
  const width = Math.max(...labels.map((l) => l.length));
  return flags.map((flag, i) => `  ${labels[i]!.padEnd(width)}  ${flag.description}`);
}

export function mainHelp(commands: readonly CommandDefinition[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    "testenv-vm: declarative VM test environments (keys, networks, VMs) from forge.yaml",
    "",
    "Usage:",
    "  testenv-vm --mcp                 serve MCP on stdio (Forge testenv engine, MCP clients)",
    "  testenv-vm <command> [options]",
    "  testenv-vm --version",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Run 'testenv-vm <command> --help' for its options.",
    "Exit codes: 0 ok, 1 operation failed, 2 usage error, 3 invalid spec or input (nothing created),",
    "            4 environment not found, 5 environment locked by another process.",
    "",
  ].join("\n");
}

export function commandHelp(command: CommandDefinition): string {
  return [`testenv-vm ${command.name}: ${command.summary}`, "", `Usage: ${command.usage}`, "", "Options:", ...flagLines(command.flags), ""].join("\n");
}
