#!/usr/bin/env node
// The testenv-vm process. `--mcp` serves MCP on stdio (Forge, agents); anything else is the CLI. Each surface is
// loaded only when asked for, so neither pays for the other's start-up.
const argv = process.argv.slice(2);
// Only options before `--` count: `testenv-vm ssh -- tool --mcp` runs tool in the VM.
const terminator = argv.indexOf("--");
if ((terminator === -1 ? argv : argv.slice(0, terminator)).includes("--mcp")) {
  const { runMcpServer } = await import("./mcp/stdio.js");
  await runMcpServer();
} else {
  const { runCli } = await import("./cli/main.js");
  await runCli(argv);
}
