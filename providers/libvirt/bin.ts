#!/usr/bin/env node
import { LibvirtProviderConfig } from "../../api/libvirt-config.js";
import { packageVersion } from "../../lib/package.js";
import { runProviderMain } from "../kit/index.js";
import { createLibvirtProvider } from "./provider.js";

const version = packageVersion();

await runProviderMain({
  binary: "testenv-vm-provider-libvirt",
  name: "libvirt",
  configSchema: LibvirtProviderConfig,
  version,
  create: (context) => createLibvirtProvider(context, { version }),
});
