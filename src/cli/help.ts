import { FLAGS, type FlagDefinition, type FlagName } from "./args.js";
import type { CommandDefinition } from "./commands.js";

function flagLines(flags: readonly FlagName[]): string[] {
  const labels = flags.map((name) => {
    const definition: FlagDefinition = FLAGS[name];
    return definition.value ? `--${name} <${definition.placeholder ?? "value"}>` : `--${name}`;
  });
  const width = Math.max(...labels.map((l) => l.length));
  return flags.map((name, i) => `  ${labels[i]!.padEnd(width)}  ${FLAGS[name].description}`);
}

export function mainHelp(commands: ReadonlyMap<string, CommandDefinition>): string {
  const width = Math.max(...[...commands.keys()].map((n) => n.length));
  return [
    "testenv-vm: declarative VM test environments (keys, networks, VMs) from forge.yaml",
    "",
    "Usage:",
    "  testenv-vm --mcp                 serve MCP on stdio (Forge testenv engine, MCP clients)",
    "  testenv-vm <command> [options]",
    "  testenv-vm --version",
    "",
    "Commands:",
    ...[...commands].map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    "",
    "Run 'testenv-vm <command> --help' for its options.",
    "Exit codes: 0 ok, 1 operation failed, 2 usage error, 3 invalid spec or input (nothing created),",
    "            4 environment not found, 5 environment locked by another process.",
    "",
  ].join("\n");
}

export function commandHelp(name: string, command: CommandDefinition): string {
  return [`testenv-vm ${name}: ${command.summary}`, "", `Usage: ${command.usage}`, "", "Options:", ...flagLines(command.flags), ""].join("\n");
}
