import { ResourceTemplate, type McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { ListResourcesResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import type { Engine } from "../orchestrator/orchestrator.js";
import { summarizeState } from "../orchestrator/summary.js";
import { readConsole } from "./tools/console.js";
import type { ToolDefinition } from "./tool.js";
import type { VmSessions } from "./vm-sessions.js";

// What an agent can read without a tool call: each environment's state summary and each VM's console log, for the
// environments of the server's state dir only; and one prompt that walks an agent from a description to a create.

const CONSOLE_RESOURCE_LINES = 1000;

const one = (value: string | string[] | undefined): string => (Array.isArray(value) ? (value[0] ?? "") : (value ?? ""));

export function registerResources(server: McpServer, engine: Engine, sessions: VmSessions): void {
  const stateDir = sessions.stateDir;
  const environments = async (): Promise<ListResourcesResult> => ({
    resources: (await engine.list({ stateDir })).map((env) => ({
      uri: `testenv-vm://env/${env.testID}`,
      name: env.testID,
      description: `testenv-vm environment ${env.testID} (${env.status})`,
      mimeType: "application/json",
    })),
  });
  server.registerResource(
    "environment",
    new ResourceTemplate("testenv-vm://env/{testID}", { list: environments }),
    { title: "Environment state summary", description: "Status, resources and artifact of one environment (no spec, no key material).", mimeType: "application/json" },
    async (uri, variables) => {
      const summary = summarizeState(await engine.status(one(variables.testID), { stateDir }));
      return { contents: [{ uri: uri.href, mimeType: "application/json", text: JSON.stringify(summary, null, 2) }] };
    },
  );

  const consoles = async (): Promise<ListResourcesResult> => {
    const all = await engine.list({ stateDir });
    return {
      resources: all.flatMap((env) =>
        env.resources
          .filter((resource) => resource.kind === "vm" && resource.status !== "destroyed")
          .map((vm) => ({ uri: `testenv-vm://env/${env.testID}/vm/${vm.name}/console`, name: `${env.testID}/${vm.name} console`, mimeType: "text/plain" })),
      ),
    };
  };
  server.registerResource(
    "vm-console",
    new ResourceTemplate("testenv-vm://env/{testID}/vm/{vm}/console", { list: consoles }),
    { title: "VM serial console log", description: `The last ${CONSOLE_RESOURCE_LINES} lines of a VM's serial console.`, mimeType: "text/plain" },
    async (uri, variables) => {
      const tail = await readConsole({ engine, sessions }, one(variables.testID), one(variables.vm), CONSOLE_RESOURCE_LINES);
      return { contents: [{ uri: uri.href, mimeType: "text/plain", text: tail.lines.join("\n") }] };
    },
  );
}

export function registerPrompts(server: McpServer, tools: readonly ToolDefinition[]): void {
  const hasPlan = tools.some((tool) => tool.name === "plan");
  server.registerPrompt(
    "create-environment",
    {
      title: "Create a test environment from a description",
      description: "Turns a description of the VMs and networks a test needs into a testenv-vm spec, checks it, and creates it.",
      argsSchema: { description: z.string().describe("What the test needs: VMs, their sizes and images, networks, who must reach whom.") },
    },
    ({ description }) => ({
      messages: [
        {
          role: "user",
          content: {
            type: "text",
            text: [
              `Create a testenv-vm test environment for this: ${description}`,
              "",
              "1. Write a testenv-vm spec (providers, keys, networks, vms; see the create tool's input schema). Give every VM a key",
              "   through cloudInit.users[].sshAuthorizedKeys: [\"{{ .Keys.<key>.PublicKey }}\"] so that exec can reach it.",
              "2. Call config-validate with { spec } and fix every error it lists until it answers valid.",
              ...(hasPlan ? ["3. Call plan with the spec and check what it would create."] : []),
              `${hasPlan ? "4" : "3"}. Call create with a fresh testID, stage, tmpDir and the spec. If readiness times out, create again with`,
              "   keepOnFailure: true and read the VM's console tool before deleting it.",
              `${hasPlan ? "5" : "4"}. Work in the VMs with exec, read-file, write-file and copy; call delete with the testID when done.`,
            ].join("\n"),
          },
        },
      ],
    }),
  );
}
