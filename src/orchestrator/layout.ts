import { join, resolve } from "node:path";
import type { CreateInput } from "../../api/forge.js";
import type { Spec } from "../../api/spec.js";
import type { StateStore } from "../state/index.js";
import type { EngineDeps } from "./deps.js";
import { storeForCreate } from "./environment-store.js";

/** Where an environment lives on disk; create and plan must agree on it to the byte. */
export interface EnvironmentLayout {
  rootDir: string;
  store: StateStore;
  stateDir: string;
  tmpDir: string;
  artifactDir: string;
}

export function environmentLayout(deps: EngineDeps, input: Pick<CreateInput, "rootDir" | "tmpDir" | "testID">, spec: Spec): EnvironmentLayout {
  const rootDir = resolve(deps.rootDir, input.rootDir || ".");
  const store = storeForCreate(deps, rootDir, spec.stateDir);
  const tmpDir = resolve(rootDir, input.tmpDir);
  const artifactDir = spec.artifactDir ? resolve(rootDir, spec.artifactDir, input.testID) : join(tmpDir, input.testID);
  return { rootDir, store, stateDir: store.stateDir, tmpDir, artifactDir };
}
