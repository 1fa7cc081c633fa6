import type { ToolDefinition } from "../tool.js";
import { configValidateTool } from "./config-validate.js";
import { consoleTool } from "./console.js";
import { copyTool } from "./copy.js";
import { createTool } from "./create.js";
import { deleteTool } from "./delete.js";
import { doctorTool } from "./doctor.js";
import { gcTool } from "./gc.js";
import { listTool } from "./list.js";
import { planTool } from "./plan.js";
import { execTool } from "./exec.js";
import { logsTool } from "./logs.js";
import { readFileTool } from "./read-file.js";
import { snapshotDeleteTool } from "./snapshot-delete.js";
import { snapshotListTool } from "./snapshot-list.js";
import { snapshotRestoreTool } from "./snapshot-restore.js";
import { snapshotSaveTool } from "./snapshot-save.js";
import { statusTool } from "./status.js";
import { vmAddTool } from "./vm-add.js";
import { vmRemoveTool } from "./vm-remove.js";
import { vmStartTool } from "./vm-start.js";
import { vmStopTool } from "./vm-stop.js";
import { vmCaptureTool } from "./vm-capture.js";
import { vmStatusTool } from "./vm-status.js";
import { vmSyncTool } from "./vm-sync.js";
import { writeFileTool } from "./write-file.js";

/** Every MCP tool, in the order tools/list shows them. A new tool is a file in this directory and a line here. */
export const TOOLS: readonly ToolDefinition[] = [
  createTool,
  deleteTool,
  configValidateTool,
  statusTool,
  listTool,
  vmStartTool,
  vmStopTool,
  vmSyncTool,
  vmCaptureTool,
  vmStatusTool,
  doctorTool,
  gcTool,
  planTool,
  execTool,
  readFileTool,
  writeFileTool,
  copyTool,
  consoleTool,
  vmAddTool,
  vmRemoveTool,
  logsTool,
  snapshotSaveTool,
  snapshotRestoreTool,
  snapshotListTool,
  snapshotDeleteTool,
];
