import { join } from "node:path";

// Everything an instance keeps lives in <folder>/.testenv-vm/, which ignores itself for git.

export const PROJECT_DIR = ".testenv-vm";

export interface ProjectLayout {
  root: string;
  /** The engine's state dir (state/ with the state file and subnet reservations below it). */
  stateDir: string;
  /** Forge's tmpDir equivalent: the artifact dir (keys, console log, provider logs) is below it. */
  tmpDir: string;
  provisionLog: string;
  metrics: string;
  gitignore: string;
}

export function projectLayout(folder: string): ProjectLayout {
  const root = join(folder, PROJECT_DIR);
  return {
    root,
    stateDir: root,
    tmpDir: join(root, "run"),
    provisionLog: join(root, "provision.log"),
    metrics: join(root, "metrics.jsonl"),
    gitignore: join(root, ".gitignore"),
  };
}
