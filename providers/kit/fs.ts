import { stat } from "node:fs/promises";

/** Whether something is at `path` (any error, ENOENT or EACCES, counts as nothing usable there). */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
