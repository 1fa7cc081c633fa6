import type { Logger } from "../../lib/log.js";
import { CommandError, run } from "../../lib/run.js";
import { ProviderError, notFound } from "../kit/index.js";

// Every podman call: argv only, with the provider's CONTAINERS_CONF / CONTAINERS_STORAGE_CONF environment.
// A failure becomes a PROVIDER_ERROR that says what was asked; "no such ..." becomes NOT_FOUND for the caller.

const NO_SUCH = /no such (container|network|object|image)|not found|unable to find/i;
const LOST_NAMESPACE = /container ([0-9a-f]{64}): retrieving network namespace at (\/run\/netns\/[\w.-]+)/;

/**
 * podman 4.3 fails every command that loads a container it believes running whose network namespace file is gone
 * (its run was killed, or someone deleted the namespace): the fix it needs, or "" for any other failure.
 */
export function lostNamespaceHint(stderr: string): string {
  const lost = LOST_NAMESPACE.exec(stderr);
  if (lost?.[1] === undefined || lost[2] === undefined) return "";
  const namespace = lost[2].slice("/run/netns/".length);
  return ` (podman lists container ${lost[1].slice(0, 12)} as running, but its network namespace ${lost[2]} is gone, so podman refuses every command that loads it; to fix: \`ip netns add ${namespace}\`, then \`podman rm --force ${lost[1].slice(0, 12)}\`, then \`ip netns delete ${namespace}\`)`;
}

export class PodmanCli {
  constructor(
    readonly binary: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly log: Logger,
  ) {}

  async run(args: readonly string[], options: { timeoutMs?: number } = {}): Promise<string> {
    const started = Date.now();
    try {
      const { stdout } = await run(this.binary, args, { env: this.env, timeoutMs: options.timeoutMs ?? 120_000 });
      return stdout;
    } catch (error) {
      const stderr = error instanceof CommandError ? error.stderr.trim() : "";
      const why = stderr || (error instanceof Error ? error.message : String(error));
      throw new ProviderError("PROVIDER_ERROR", `podman ${args.slice(0, 3).join(" ")}: ${why}${lostNamespaceHint(stderr)}`, { cause: error, details: { stderr } });
    } finally {
      this.log.debug(`podman ${args[0] ?? ""} ${args[1] ?? ""}`, { ms: Date.now() - started });
    }
  }

  async json<T>(args: readonly string[]): Promise<T> {
    return JSON.parse(await this.run(args)) as T;
  }

  /** The last lines the container wrote to stdout and stderr, oldest first; "" when there are none or podman fails. */
  async logsTail(name: string, lines = 20): Promise<string> {
    try {
      const { stdout, stderr } = await run(this.binary, ["logs", "--tail", String(lines), name], { env: this.env, timeoutMs: 30_000 });
      return `${stdout}${stderr}`.trim();
    } catch {
      return "";
    }
  }

  /** `podman <object> exists <name>`: exit 0 yes, 1 no. */
  async exists(object: "container" | "network" | "image", name: string): Promise<boolean> {
    try {
      await run(this.binary, [object, "exists", name], { env: this.env, timeoutMs: 60_000 });
      return true;
    } catch (error) {
      if (error instanceof CommandError && error.exitCode === 1) return false;
      throw new ProviderError("PROVIDER_ERROR", `podman ${object} exists ${name}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }
}

/** NOT_FOUND for `kind "name"` when podman said the object does not exist; the error itself otherwise. */
export function asNotFound(error: unknown, kind: string, name: string): unknown {
  if (error instanceof ProviderError && error.code === "PROVIDER_ERROR" && NO_SUCH.test(typeof error.details?.stderr === "string" && error.details.stderr !== "" ? error.details.stderr : error.message)) {
    return notFound(kind, name);
  }
  return error;
}
