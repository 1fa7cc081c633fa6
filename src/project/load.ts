import { constants } from "node:fs";
import { access, readFile } from "node:fs/promises";
import { userInfo } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import type { ProjectEnv } from "../../api/project-env.js";
import type { Spec } from "../../api/spec.js";
import { TestenvError, type Issue } from "../errors.js";
import { ENV_FILE, parseEnvFile } from "./env-file.js";
import { projectIdentity, type ProjectIdentity } from "./identity.js";
import { projectLayout, type ProjectLayout } from "./layout.js";
import { FORGE_FILE, loadForgeProject } from "./forge-project.js";
import { parseUserCloudConfig, PROJECT_KEY, projectSpec } from "./to-spec.js";

// A project folder as the verbs see it: its `.env`, checked together with the files it names, and the spec it
// becomes. Nothing here creates anything.

export interface Project {
  folder: string;
  /** The file the instance is described by: `.env`, or forge.yaml when the folder has no `.env`. */
  envPath: string;
  source: "env" | "forge.yaml";
  env: ProjectEnv;
  /** The keys as written, recorded at creation so that `up` can say what changed. */
  given: Record<string, string>;
  identity: ProjectIdentity;
  layout: ProjectLayout;
  sshUser: string;
  /** The spec key whose private key logs in. */
  sshKey: string;
  /** Logical VM names of the instance; the first is the one `ssh`, `status` and provisioning mean. */
  vms: string[];
  spec: Spec;
  /** PROVISION_SCRIPT resolved against the folder. */
  provisionScript?: string;
}

function defaultSshUser(): string {
  try {
    const name = userInfo().username;
    return /^[a-z_][a-z0-9_-]{0,31}$/.test(name) ? name : "dev";
  } catch {
    return "dev";
  }
}

async function readable(path: string): Promise<boolean> {
  try {
    await access(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

export async function loadProject(folder: string): Promise<Project> {
  const absolute = resolve(folder);
  const envPath = join(absolute, ENV_FILE);
  let text: string;
  try {
    text = await readFile(envPath, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const forgePath = join(absolute, FORGE_FILE);
    if (code === "ENOENT" && (await readable(forgePath))) return forgeProject(absolute, forgePath);
    const why = code === "ENOENT" ? "does not exist" : `cannot be read (${code ?? "error"})`;
    throw new TestenvError(
      "SPEC_NOT_FOUND",
      `${envPath} ${why} (nor does ${FORGE_FILE}): run testenv-vm init in ${absolute} for a commented template, or pass --dir <project folder>`,
      { cause: error, details: { path: envPath } },
    );
  }
  const { env, given } = parseEnvFile(text, envPath);
  const issues: Issue[] = [];
  const provisionScript = env.PROVISION_SCRIPT === undefined ? undefined : join(absolute, env.PROVISION_SCRIPT);
  if (provisionScript !== undefined && !(await readable(provisionScript))) {
    issues.push({ field: "PROVISION_SCRIPT", message: `${provisionScript} does not exist or cannot be read; create it or fix the path` });
  }
  let cloudConfig;
  if (env.CLOUD_CONFIG !== undefined) {
    const path = join(absolute, env.CLOUD_CONFIG);
    if (await readable(path)) cloudConfig = parseUserCloudConfig(await readFile(path, "utf8"), path);
    else issues.push({ field: "CLOUD_CONFIG", message: `${path} does not exist or cannot be read; create it or fix the path` });
  }
  // A URL is downloaded, whatever its file name ends with; only a bare word ending in an image suffix is a file.
  const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(env.IMAGE);
  const isPath = !isUrl && (env.IMAGE.startsWith("/") || env.IMAGE.startsWith(".") || /\.(qcow2|img|raw|tar)$/i.test(env.IMAGE));
  const imagePath = isPath ? (isAbsolute(env.IMAGE) ? env.IMAGE : join(absolute, env.IMAGE)) : undefined;
  if (imagePath !== undefined && !(await readable(imagePath))) {
    issues.push({ field: "IMAGE", message: `${imagePath} does not exist or cannot be read; give a well-known name (debian:12), an existing file, or an https URL` });
  }
  if (env.INFRA_TYPE === "container" && env.NETWORK_TYPE === "bridge" && env.FIXED_IP === undefined) {
    // podman's allocator cannot see what the LAN's DHCP server hands out, and the container runs no DHCP client.
    issues.push({ field: "FIXED_IP", message: "is needed for a container on a host bridge (NETWORK_TYPE=bridge): give it a free address of the bridge's subnet with its prefix, such as 192.168.1.50/24, outside the LAN's DHCP range" });
  }
  if (issues.length > 0) {
    throw new TestenvError("SPEC_INVALID", `${envPath} has ${issues.length} problem(s); nothing was created`, { issues, details: { path: envPath } });
  }
  const identity = projectIdentity(absolute, env.NAME);
  const sshUser = env.SSH_USER ?? defaultSshUser();
  const layout = projectLayout(absolute);
  const spec = {
    ...projectSpec({ env, identity, sshUser, ...(imagePath === undefined ? {} : { imagePath }), ...(cloudConfig === undefined ? {} : { cloudConfig }) }),
    stateDir: layout.stateDir,
  };
  return {
    folder: absolute,
    envPath,
    source: "env",
    env,
    given,
    identity,
    layout,
    sshUser,
    sshKey: PROJECT_KEY,
    vms: [identity.name],
    spec,
    ...(provisionScript === undefined ? {} : { provisionScript }),
  };
}

/** A folder without `.env` whose forge.yaml holds a testenv-vm spec: that spec, kept in the folder's .testenv-vm. */
async function forgeProject(folder: string, forgePath: string): Promise<Project> {
  const forge = await loadForgeProject(forgePath);
  const layout = projectLayout(folder);
  return {
    folder,
    envPath: forgePath,
    source: "forge.yaml",
    env: forge.env,
    given: forge.given,
    identity: projectIdentity(folder, undefined),
    layout,
    sshUser: forge.sshUser,
    sshKey: forge.sshKey,
    vms: forge.vms,
    spec: { ...forge.spec, stateDir: layout.stateDir },
  };
}
