import type { ToolDefinition } from "../tool.js";
import { configValidateTool } from "./config-validate.js";
import { createTool } from "./create.js";
import { deleteTool } from "./delete.js";
import { doctorTool } from "./doctor.js";
import { listTool } from "./list.js";
import { planTool } from "./plan.js";
import { statusTool } from "./status.js";
import { vmStartTool } from "./vm-start.js";
import { vmStopTool } from "./vm-stop.js";
import { vmCaptureTool } from "./vm-capture.js";
import { vmStatusTool } from "./vm-status.js";
import { vmSyncTool } from "./vm-sync.js";

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
  planTool,
];
