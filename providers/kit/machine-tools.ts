import type { z } from "zod";
import type { MachineToolName } from "../../api/provider.js";
import {
  MachineCaptureRequest,
  MachinePowerRequest,
  MachineStatusRequest,
  MachineSyncRequest,
  type MachineCaptureResult,
  type MachinePowerResult,
  type MachineStatusResult,
  type MachineSyncResult,
} from "../../api/vm-manifest.js";

// The optional manifest tools (machine_*): served and listed only by a provider whose implementation has `machines`.

/** What a provider that applies a VM manifest implements. */
export interface MachineHandlers {
  sync(request: MachineSyncRequest): Promise<MachineSyncResult>;
  status(request: MachineStatusRequest): Promise<MachineStatusResult>;
  capture(request: MachineCaptureRequest): Promise<MachineCaptureResult>;
  power(request: MachinePowerRequest): Promise<MachinePowerResult>;
}

/** An optional tool served from one set of handlers (machine_*, vm_snapshot_*), with its MCP annotations. */
export interface HandlerToolDefinition<Handlers> {
  description: string;
  input: z.ZodType;
  destructive: boolean;
  readOnly: boolean;
  idempotent: boolean;
  run(handlers: Handlers, args: unknown): Promise<unknown>;
}

export type MachineToolDefinition = HandlerToolDefinition<MachineHandlers>;

export const MACHINE_TOOL_DEFINITIONS: Readonly<Record<MachineToolName, MachineToolDefinition>> = {
  machine_sync: {
    description:
      "Create or update libvirt domains to match manifest VMs (dryRun: only the plan). Running VMs are never destroyed unless restart; prune undefines only domains carrying this manifest's metadata.",
    input: MachineSyncRequest,
    destructive: true,
    readOnly: false,
    idempotent: true,
    run: (h, args) => h.sync(args as MachineSyncRequest),
  },
  machine_status: {
    description: "running / stopped / missing of each manifest VM, with its drift from the manifest and its graphics URI.",
    input: MachineStatusRequest,
    destructive: false,
    readOnly: true,
    idempotent: true,
    run: (h, args) => h.status(args as MachineStatusRequest),
  },
  machine_capture: {
    description: "Read domains back as manifest VMs, listing what does not round-trip.",
    input: MachineCaptureRequest,
    destructive: false,
    readOnly: true,
    idempotent: true,
    run: (h, args) => h.capture(args as MachineCaptureRequest),
  },
  machine_power: {
    description: "Start a manifest VM, or stop it (ACPI, forced after timeoutSeconds; force: at once). Its disk is kept.",
    input: MachinePowerRequest,
    destructive: false,
    readOnly: false,
    idempotent: true,
    run: (h, args) => h.power(args as MachinePowerRequest),
  },
};

export function isMachineTool(name: string): name is MachineToolName {
  return Object.hasOwn(MACHINE_TOOL_DEFINITIONS, name);
}
