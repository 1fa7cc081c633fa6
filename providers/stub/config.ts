import { StubConfig } from "../../api/stub-config.js";
import { parseProviderConfig, type ProviderContext } from "../kit/index.js";

export { ExitOn, Fault, StubConfig } from "../../api/stub-config.js";

export function readStubConfig(context: ProviderContext): StubConfig {
  return parseProviderConfig(StubConfig, context, "stub");
}
