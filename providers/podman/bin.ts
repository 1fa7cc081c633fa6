#!/usr/bin/env node
import { PodmanProviderConfig } from "../../api/podman-config.js";
import { packageVersion } from "../../lib/package.js";
import { readProviderContext, runProviderMain } from "../kit/index.js";
import { buildBaseImage, createPodmanProvider } from "./provider.js";

const version = packageVersion();

// `build-image` builds the base image ahead of time (it needs the Debian archive; tests run it before they enter
// a network namespace without one). It prints the image's tag.
if (process.argv[2] === "build-image") {
  try {
    process.stdout.write(`${await buildBaseImage(readProviderContext("podman"))}\n`);
  } catch (error) {
    process.stderr.write(`testenv-vm-provider-podman build-image: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
} else {
  await runProviderMain({
    binary: "testenv-vm-provider-podman",
    name: "podman",
    configSchema: PodmanProviderConfig,
    version,
    create: (context) => createPodmanProvider(context, { version }),
  });
}
