#!/usr/bin/env node
import { StubConfig } from "../../api/stub-config.js";
import { packageVersion } from "../../lib/package.js";
import { runProviderMain } from "../kit/index.js";
import { createStubProvider } from "./index.js";

await runProviderMain({
  binary: "testenv-vm-provider-stub",
  name: "stub",
  configSchema: StubConfig,
  version: packageVersion(),
  create: createStubProvider,
});
