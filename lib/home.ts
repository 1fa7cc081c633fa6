import { homedir } from "node:os";
import { join } from "node:path";

/** `~` and `~/…` as the user's home; any other path unchanged (`~user` is not expanded). */
export function expandHome(path: string, home: string = homedir()): string {
  if (path === "~") return home;
  return path.startsWith("~/") ? join(home, path.slice(2)) : path;
}
