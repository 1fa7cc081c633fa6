// npm only marks bins executable on install; a local build must do it itself.
import { chmodSync, existsSync, readFileSync } from "node:fs";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
for (const rel of Object.values(pkg.bin)) {
  const path = new URL(`../${rel}`, import.meta.url);
  if (existsSync(path)) chmodSync(path, 0o755);
}
