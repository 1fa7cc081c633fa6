// Providers get an allowlisted environment, like the MCP SDK's getDefaultEnvironment(): secrets in the
// orchestrator's environment do not leak into third-party provider processes.

const INHERITED = ["HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER", "LANG", "TMPDIR", "LIBVIRT_DEFAULT_URI"] as const;
const INHERITED_PREFIXES = ["TESTENV_VM_", "FORGE_"] as const;

export function providerEnvironment(parent: NodeJS.ProcessEnv, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(parent)) {
    if (value === undefined || value.startsWith("()")) continue; // exported shell functions
    if ((INHERITED as readonly string[]).includes(key) || INHERITED_PREFIXES.some((prefix) => key.startsWith(prefix))) {
      env[key] = value;
    }
  }
  return { ...env, ...extra };
}
