import { constants } from "node:fs";
import { access } from "node:fs/promises";
import { delimiter, join } from "node:path";

import { TestenvError } from "../errors.js";
import type { Logger } from "../../lib/log.js";
import { run } from "../../lib/run.js";
import { sha256Text } from "./hash.js";


export interface Customization {
  packages?: string[] | undefined;
  runcmd?: string[] | undefined;
}

// Package names reach virt-customize as one comma-separated argument; anything else could smuggle options in.
const PACKAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9.+:~_=@/-]*$/;

export function hasCustomization(customize: Customization | null | undefined): customize is Customization {
  return (customize?.packages?.length ?? 0) > 0 || (customize?.runcmd?.length ?? 0) > 0;
}

/** Canonical JSON of a customization: fixed field order, empty lists left out, so equal intents give equal keys. */
export function customizationJson(customize: Customization): string {
  const packages = customize.packages ?? [];
  const runcmd = customize.runcmd ?? [];
  return JSON.stringify({ ...(packages.length > 0 ? { packages } : {}), ...(runcmd.length > 0 ? { runcmd } : {}) });
}

/** Cache key of a customized overlay: the exact base bytes (digest) plus the customization. */
export function customizationKey(baseSha256: string, customize: Customization): string {
  return sha256Text(`customized\0${baseSha256.toLowerCase()}\0${customizationJson(customize)}`);
}

export function validateCustomization(image: string, customize: Customization): void {
  for (const name of customize.packages ?? []) {
    if (!PACKAGE_NAME.test(name)) {
      throw new TestenvError("IMAGE_ERROR", `image ${image}: customize.packages entry "${name}" is not a package name`);
    }
  }
}

export async function findExecutable(name: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export async function requireVirtCustomize(image: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const found = await findExecutable("virt-customize", env);
  if (found !== undefined) return found;
  throw new TestenvError(
    "IMAGE_ERROR",
    `image ${image}: customize needs virt-customize, which is not in PATH; install the libguestfs-tools package ` +
      "(apt-get install libguestfs-tools, dnf install guestfs-tools), or drop customize and use cloud-init packages/runcmd.",
    { details: { missing: "virt-customize", package: "libguestfs-tools" } },
  );
}

export interface BuildOverlayOptions {
  image: string;
  basePath: string;
  outPath: string;
  customize: Customization;
  virtCustomize: string;
  log: Logger;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

/** qcow2 overlay on the cached base, then virt-customize on the overlay only (the base stays pristine). */
export async function buildOverlay(options: BuildOverlayOptions): Promise<void> {
  const { basePath, outPath, customize, signal } = options;
  await runTool(options, "qemu-img", ["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", basePath, outPath]);
  const args = ["-a", outPath];
  if ((customize.packages?.length ?? 0) > 0) args.push("--install", (customize.packages ?? []).join(","));
  for (const command of customize.runcmd ?? []) args.push("--run-command", command);
  options.log.info(`customizing image ${options.image} with virt-customize (this boots a small appliance; it can take minutes)`);
  // The direct backend avoids needing a running libvirtd just to customize a file.
  await runTool({ ...options, env: { ...(options.env ?? process.env), LIBGUESTFS_BACKEND: "direct" }, signal }, options.virtCustomize, args);
}

async function runTool(options: BuildOverlayOptions, command: string, args: string[]): Promise<void> {
  try {
    const { stderr } = await run(command, args, { env: options.env ?? process.env, timeoutMs: 0, ...(options.signal ? { signal: options.signal } : {}) });
    if (stderr.trim() !== "") options.log.debug(`${command}: ${stderr.trim()}`);
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new TestenvError(
      "IMAGE_ERROR",
      `image ${options.image}: ${command} ${args.join(" ")} failed: ${stderr || (error as Error).message}`,
      { cause: error },
    );
  }
}
