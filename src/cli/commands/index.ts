import type { CommandDefinition } from "../command.js";
import { FLAGS, flagOf } from "../flags.js";
import { createCommand } from "./create.js";
import { deleteCommand } from "./delete.js";
import { doctorCommand } from "./doctor.js";
import { gcCommand } from "./gc.js";
import { reapCommand } from "./reap.js";
import { imagesCommand } from "./images.js";
import { listCommand } from "./list.js";
import { planCommand } from "./plan.js";
import { statusCommand } from "./status.js";
import { validateCommand } from "./validate.js";
import { initCommand } from "./init.js";
import { metricsCommand } from "./metrics.js";
import { provisionCommand } from "./provision.js";
import { rmCommand } from "./rm.js";
import { snapshotCommand } from "./snapshot.js";
import { sshCommand } from "./ssh.js";
import { startCommand } from "./start.js";
import { stopCommand } from "./stop.js";
import { upCommand } from "./up.js";
import { vmCommand } from "./vm.js";

/** Every CLI command, in the order help lists them. A new command is a file in this directory and a line here. */
export const COMMANDS: readonly CommandDefinition[] = [
  upCommand,
  sshCommand,
  stopCommand,
  startCommand,
  rmCommand,
  provisionCommand,
  initCommand,
  metricsCommand,
  createCommand,
  deleteCommand,
  gcCommand,
  reapCommand,
  validateCommand,
  planCommand,
  doctorCommand,
  statusCommand,
  vmCommand,
  snapshotCommand,
  listCommand,
  imagesCommand,
];

export function findCommand(name: string): CommandDefinition | undefined {
  return COMMANDS.find((command) => command.name === name);
}

/** Every flag some command knows: a flag outside it is unknown (with a suggestion), one inside it "does not apply". */
export const FLAG_VOCABULARY: readonly string[] = [...new Set([...Object.keys(FLAGS), ...COMMANDS.flatMap((command) => command.flags.map((ref) => flagOf(ref).name))])];
