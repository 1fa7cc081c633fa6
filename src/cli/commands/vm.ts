import type { VMState } from "../../../api/provider.js";
import { UsageError, booleanFlag, requireID, stringFlag } from "../args.js";
import type { CommandContext, CommandDefinition } from "../command.js";
import { openEngine } from "../engine.js";
import { EXIT, type ExitCode } from "../exit-codes.js";
import { COMMON_FLAGS, STATE_DIR_FLAGS, flagOf, type Flag, type FlagRef } from "../flags.js";
import { writeJson } from "../output.js";
import { checkSubcommandFlags, pickSubcommand } from "../subcommands.js";
import { MANIFEST, SYNC_FLAGS, runCapture, runPower, runStatus, runSync } from "./vm-manifest.js";

// `testenv-vm vm <subcommand>`: one VM of an environment (--id), or the VMs of the manifest (vms.json). Each subcommand is a row of SUBCOMMANDS (its positionals, the
// flags it takes beyond the common ones, and its run); the command's own flag list is the union of theirs, and a
// flag given to a subcommand that does not take it is a usage error naming both.

const TIMEOUT: Flag = { name: "timeout", value: true, placeholder: "s", description: "vm stop/restart: seconds the guest gets to shut down before it is forced off (1-3600, default 60)" };
const MAX_TIMEOUT_SECONDS = 3600;

interface VmSubcommand {
  name: string;
  summary: string;
  /** What follows `testenv-vm vm <name>` in the usage line. */
  usage: string;
  /** Flags this subcommand takes besides COMMON_FLAGS. */
  flags: readonly FlagRef[];
  run(context: CommandContext, positionals: readonly string[]): Promise<ExitCode>;
}

/** The environment and VM an environment subcommand acts on: `--id <testID> <vm>`. */
function environmentVM(context: CommandContext, sub: string, positionals: readonly string[]): { testID: string; vm: string } {
  const testID = requireID(context.args, `vm ${sub}`);
  const [vm, extra] = positionals;
  if (vm === undefined) throw new UsageError(`'vm ${sub}' needs the VM's name: testenv-vm vm ${sub} --id ${testID} <vm> (see 'testenv-vm status --id ${testID}')`);
  if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}' for 'vm ${sub}'; it takes one VM name`);
  return { testID, vm };
}

function timeoutSeconds(context: CommandContext): number | undefined {
  const raw = stringFlag(context.args.flags, TIMEOUT);
  if (raw === undefined) return undefined;
  const seconds = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(seconds >= 1 && seconds <= MAX_TIMEOUT_SECONDS)) {
    throw new UsageError(`option '--timeout' takes whole seconds from 1 to ${MAX_TIMEOUT_SECONDS}, not '${raw}': --timeout <s>`);
  }
  return seconds;
}

function stopOutcome(vm: VMState, options: { force: boolean; timeoutSeconds: number | undefined }): string {
  switch (vm.stopMethod) {
    case "graceful":
      return "shut down gracefully";
    case "forced":
      return options.force ? "was powered off at once (--force)" : `was forced off: it did not shut down within ${options.timeoutSeconds ?? 60} s`;
    case "already-stopped":
      return "was already stopped";
    default:
      return "stopped";
  }
}

const running = (vm: VMState): string => `running${vm.ip ? ` at ${vm.ip}` : ""}`;

function report(context: CommandContext, vm: VMState, line: string): ExitCode {
  if (booleanFlag(context.args.flags, "json")) writeJson(context, vm);
  else context.stdout.write(`${line}\n`);
  return EXIT.ok;
}

const ENVIRONMENT_FLAGS: readonly FlagRef[] = ["id", ...STATE_DIR_FLAGS, MANIFEST];

/** Without --id, start and stop act on a manifest VM, when there is a manifest (found or named by --manifest). */
async function manifestVM(context: CommandContext, sub: string, positionals: readonly string[]): Promise<string | undefined> {
  if (stringFlag(context.args.flags, "id") !== undefined) return undefined;
  if (stringFlag(context.args.flags, MANIFEST) === undefined) {
    const { DEFAULT_MANIFEST_PATHS, findManifest } = await import("../../manifest/load.js");
    try {
      findManifest(context.cwd, undefined);
    } catch {
      throw new UsageError(
        `'vm ${sub}' needs the environment id: testenv-vm vm ${sub} --id <testID> <vm>; or, for a manifest VM, a manifest (none at ${DEFAULT_MANIFEST_PATHS.map((p) => `./${p}`).join(", ")}; --manifest names one)`,
      );
    }
  }
  const [vm, extra] = positionals;
  if (vm === undefined) throw new UsageError(`'vm ${sub}' needs a VM name: testenv-vm vm ${sub} <name> (a manifest VM) or testenv-vm vm ${sub} --id <testID> <vm>`);
  if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}' for 'vm ${sub}'; it takes one VM name`);
  return vm;
}

const SUBCOMMANDS: readonly VmSubcommand[] = [
  {
    name: "start",
    summary: "start a stopped VM of an environment and wait until it is ready again (its disk as it was)",
    usage: "start --id <testID> <vm> | vm start <name> [--manifest file]",
    flags: ENVIRONMENT_FLAGS,
    async run(context, positionals) {
      const manifestName = await manifestVM(context, "start", positionals);
      if (manifestName !== undefined) return runPower(context, manifestName, "start", {});
      const { testID, vm } = environmentVM(context, "start", positionals);
      const started = await (await openEngine(context, { stateDirFromSpecFile: true })).vmPower(testID, vm, "start");
      return report(context, started, `vm ${vm} of ${testID} is ${running(started)}`);
    },
  },
  {
    name: "stop",
    summary: "shut a VM down (graceful, forced after --timeout; --force at once); its disk is kept",
    usage: "stop --id <testID> <vm> | vm stop <name> [--manifest file]; [--timeout s] [--force]",
    flags: [...ENVIRONMENT_FLAGS, TIMEOUT, "force"],
    async run(context, positionals) {
      const manifestName = await manifestVM(context, "stop", positionals);
      if (manifestName !== undefined) {
        const timeout = timeoutSeconds(context);
        return runPower(context, manifestName, "stop", { force: booleanFlag(context.args.flags, "force"), ...(timeout === undefined ? {} : { timeoutSeconds: timeout }) });
      }
      const { testID, vm } = environmentVM(context, "stop", positionals);
      const timeout = timeoutSeconds(context);
      const force = booleanFlag(context.args.flags, "force");
      const engine = await openEngine(context, { stateDirFromSpecFile: true });
      const stopped = await engine.vmPower(testID, vm, "stop", { force, ...(timeout === undefined ? {} : { timeoutSeconds: timeout }) });
      return report(context, stopped, `vm ${vm} of ${testID} ${stopOutcome(stopped, { force, timeoutSeconds: timeout })}; its disk is kept (testenv-vm vm start --id ${testID} ${vm} starts it again)`);
    },
  },
  {
    name: "restart",
    summary: "stop a VM as `vm stop` does, then start it as `vm start` does",
    usage: "restart --id <testID> <vm> [--timeout s] [--force]",
    flags: [...ENVIRONMENT_FLAGS, TIMEOUT, "force"],
    async run(context, positionals) {
      const { testID, vm } = environmentVM(context, "restart", positionals);
      const timeout = timeoutSeconds(context);
      const force = booleanFlag(context.args.flags, "force");
      const engine = await openEngine(context, { stateDirFromSpecFile: true });
      const restarted = await engine.vmRestart(testID, vm, { force, ...(timeout === undefined ? {} : { timeoutSeconds: timeout }) });
      return report(context, restarted, `vm ${vm} of ${testID} ${stopOutcome(restarted, { force, timeoutSeconds: timeout })} and started again; ${running(restarted)}`);
    },
  },
  {
    name: "sync",
    summary: "create or update the manifest's VMs to match it; prints the plan first (--dry-run: only the plan)",
    usage: "sync [name…] [--dry-run] [--restart] [--prune [--remove-storage]] [--allow-download] [--manifest file]",
    flags: SYNC_FLAGS,
    run: (context, positionals) => runSync(context, positionals),
  },
  {
    name: "capture",
    summary: "write the live configuration of the manifest's VMs (or the named domains) into the manifest",
    usage: "capture [name…] [--manifest file]",
    flags: [MANIFEST],
    run: (context, positionals) => runCapture(context, positionals),
  },
  {
    name: "status",
    summary: "running / stopped / missing of each manifest VM, with drift and its graphics URI",
    usage: "status [name…] [--manifest file]",
    flags: [MANIFEST],
    run: (context, positionals) => runStatus(context, positionals),
  },
];

const ALL_FLAGS: readonly FlagRef[] = [...new Map(SUBCOMMANDS.flatMap((s) => s.flags).map((ref) => [flagOf(ref).name, ref])).values(), ...COMMON_FLAGS];

export const vmCommand: CommandDefinition = {
  name: "vm",
  summary: "one VM of an environment (start, stop, restart --id), or the VM manifest (sync, capture, status, start, stop)",
  usage: SUBCOMMANDS.map((s, i) => `${i === 0 ? "" : "       "}testenv-vm vm ${s.usage}   ${s.summary}`).join("\n") + "\n       [--state-dir dir | --spec forge.yaml] with --id; [--json] with each",
  flags: ALL_FLAGS,
  operation: (args) => (args.positionals[0] === undefined ? "vm" : `vm ${args.positionals[0]}`),
  async run(context) {
    const sub = pickSubcommand("vm", SUBCOMMANDS, context.args);
    checkSubcommandFlags("vm", context.args, sub);
    return sub.run(context, context.args.positionals.slice(1));
  },
};
