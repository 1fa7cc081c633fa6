import { z } from "zod";
import { CREATES_PATH } from "./config-schema.js";
import { ProviderErrorCode } from "./errors.js";
import { OPTIONAL_PROVIDER_TOOLS, PROVIDER_TOOLS } from "./provider.js";
import { SNAPSHOT_TOOLS } from "./snapshot.js";

// The stub provider's config (providers[].spec): here in api/ so the engine checks it before starting the provider.

const Tool = z.enum([...PROVIDER_TOOLS, ...OPTIONAL_PROVIDER_TOOLS, ...SNAPSHOT_TOOLS]);
const Milliseconds = z.number().int().nonnegative();

/** Fail one tool (optionally only for one resource name) with a chosen error code. */
export const Fault = z.strictObject({
  tool: Tool,
  /** Provider-level name, or its logical suffix (matches `<prefix>-<name>`). Absent: every call of the tool. */
  name: z.string().min(1).optional(),
  code: ProviderErrorCode.default("PROVIDER_ERROR"),
  message: z.string().optional(),
  retryable: z.boolean().optional(),
  /** Fail only the first N matching calls (per process). */
  times: z.number().int().positive().optional(),
});
export type Fault = z.infer<typeof Fault>;

export const ExitOn = z.strictObject({
  tool: Tool,
  name: z.string().min(1).optional(),
  code: z.number().int().min(0).max(255).default(1),
  /** before: the operation never happens; after: it happens, but the answer is never sent. */
  when: z.enum(["before", "after"]).default("before"),
});
export type ExitOn = z.infer<typeof ExitOn>;

export const StubConfig = z.strictObject({
  /** JSON file holding all state, shared (under a lock) by every stub process that names it. */
  store: z.string().min(1).meta(CREATES_PATH).optional(),
  faults: z.array(Fault).default([]),
  delayMs: z.union([Milliseconds, z.partialRecord(Tool, Milliseconds)]).optional(),
  exitOn: ExitOn.optional(),
  /**
   * VMs (names matched like faults' names) whose guest ignores the ACPI shutdown request: a vm_stop
   * without force ends "forced", as on a real provider after timeoutSeconds (the stub does not wait).
   */
  ignoreShutdown: z.array(z.string().min(1)).optional(),
  /** Report this endpoint as every VM's SSH address (e.g. a loopback sshd in client-library tests). */
  sshEndpoint: z
    .strictObject({
      host: z.string().min(1),
      port: z.number().int().min(1).max(65535),
      user: z.string().min(1).optional(),
    })
    .optional(),
  /** Write a serial console log per VM (`<artifactDir>/console/<vm>.log`) and report its path as consoleOutput. */
  consoleLog: z.boolean().optional(),
  /**
   * VMs (names matched like faults' names) whose readiness never comes: vm_create makes them (and their console
   * log), then fails with TIMEOUT, as a real provider does when a guest does not boot; the VM is left for rollback.
   */
  readinessFails: z.array(z.string().min(1)).optional(),
  /** Really generate key pairs and write them to outputDir (0600/0644). */
  writeKeyFiles: z.boolean().default(false),
});
export type StubConfig = z.infer<typeof StubConfig>;
