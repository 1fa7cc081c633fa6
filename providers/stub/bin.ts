#!/usr/bin/env node
import { packageVersion } from "../../lib/package.js";
import { runProviderMain } from "../kit/index.js";
import { createStubProvider } from "./index.js";

await runProviderMain({
  binary: "testenv-vm-provider-stub",
  name: "stub",
  version: packageVersion(),
  create: createStubProvider,
});
