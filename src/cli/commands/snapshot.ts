import { UsageError, booleanFlag, requireID } from "../args.js";
import type { CommandContext, CommandDefinition } from "../command.js";
import { openEngine } from "../engine.js";
import { EXIT, type ExitCode } from "../exit-codes.js";
import { COMMON_FLAGS, STATE_DIR_FLAGS, type FlagName, type FlagRef } from "../flags.js";
import { writeJson } from "../output.js";
import { checkSubcommandFlags, pickSubcommand } from "../subcommands.js";

// `testenv-vm snapshot save|restore|list|delete --id <testID> [snapshot]`: every VM of a ready environment saved
// with its memory and disk, and brought back. The snapshot's name is a positional (default "default"): --name
// already names the testenv entry of forge.yaml that --spec reads the state dir from.

const DEFAULT_SNAPSHOT = "default";
const ENVIRONMENT_FLAGS: readonly FlagName[] = ["id", ...STATE_DIR_FLAGS];

interface SnapshotSubcommand {
  name: string;
  summary: string;
  flags: readonly FlagRef[];
  run(context: CommandContext, testID: string, snapshot: string): Promise<ExitCode>;
}

function print(context: CommandContext, json: unknown, line: string): ExitCode {
  if (booleanFlag(context.args.flags, "json")) writeJson(context, json);
  else context.stdout.write(`${line}\n`);
  return EXIT.ok;
}

const engineFor = (context: CommandContext) => openEngine(context, { stateDirFromSpecFile: true });

const SUBCOMMANDS: readonly SnapshotSubcommand[] = [
  {
    name: "save",
    summary: "save every VM (memory and disk) under a name; the VMs keep running (--force replaces one of that name)",
    flags: [...ENVIRONMENT_FLAGS, "force"],
    async run(context, testID, snapshot) {
      const saved = await (await engineFor(context)).snapshotSave(testID, snapshot, { overwrite: booleanFlag(context.args.flags, "force") });
      return print(context, saved, `snapshot ${saved.name} of ${testID} saved: ${Object.keys(saved.vms).join(", ")}`);
    },
  },
  {
    name: "restore",
    summary: "bring every VM back to a snapshot, running, and wait until each is ready (same IPs and host keys)",
    flags: ENVIRONMENT_FLAGS,
    async run(context, testID, snapshot) {
      const restored = await (await engineFor(context)).snapshotRestore(testID, snapshot);
      const where = Object.entries(restored.vms).map(([vm, state]) => `${vm}${state.ip === undefined ? "" : ` at ${state.ip}`}`);
      return print(context, restored, `snapshot ${restored.name} of ${testID} restored: ${where.join(", ")}`);
    },
  },
  {
    name: "list",
    summary: "the environment's snapshots and which VMs each holds",
    flags: ENVIRONMENT_FLAGS,
    async run(context, testID) {
      const snapshots = await (await engineFor(context)).snapshotList(testID);
      const lines = snapshots.map((s) => `${s.name}\t${Object.keys(s.vms).join(",")}\t${Object.values(s.vms)[0]?.createdAt ?? ""}`);
      return print(context, snapshots, lines.length === 0 ? `environment ${testID} has no snapshots` : ["NAME\tVMS\tCREATED", ...lines].join("\n"));
    },
  },
  {
    name: "delete",
    summary: "remove a snapshot from every VM that has it (an environment's delete removes all of them)",
    flags: ENVIRONMENT_FLAGS,
    async run(context, testID, snapshot) {
      const removed = await (await engineFor(context)).snapshotDelete(testID, snapshot);
      return print(context, removed, `snapshot ${removed.name} of ${testID} deleted: ${removed.vms.join(", ")}`);
    },
  },
];

function snapshotName(sub: SnapshotSubcommand, positionals: readonly string[]): string {
  const [name, extra] = positionals;
  if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}' for 'snapshot ${sub.name}'; it takes one snapshot name`);
  if (sub.name === "list" && name !== undefined) throw new UsageError(`unexpected argument '${name}' for 'snapshot list'; it lists every snapshot`);
  return name ?? DEFAULT_SNAPSHOT;
}

export const snapshotCommand: CommandDefinition = {
  name: "snapshot",
  summary: "save and restore a ready environment's VMs with their memory and disk (save, restore, list, delete)",
  usage:
    SUBCOMMANDS.map((s, i) => `${i === 0 ? "" : "       "}testenv-vm snapshot ${s.name} --id <testID>${s.name === "list" ? "" : " [snapshot]"}   ${s.summary}`).join("\n") +
    `\n       the snapshot name defaults to '${DEFAULT_SNAPSHOT}'; [--state-dir dir | --spec forge.yaml] [--json] with each`,
  flags: [...ENVIRONMENT_FLAGS, "force", ...COMMON_FLAGS],
  operation: (args) => (args.positionals[0] === undefined ? "snapshot" : `snapshot ${args.positionals[0]}`),
  async run(context) {
    const sub = pickSubcommand("snapshot", SUBCOMMANDS, context.args);
    checkSubcommandFlags("snapshot", context.args, sub);
    const testID = requireID(context.args, `snapshot ${sub.name}`);
    return sub.run(context, testID, snapshotName(sub, context.args.positionals.slice(1)));
  },
};
