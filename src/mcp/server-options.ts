import { delimiter, resolve } from "node:path";

// The server's own configuration: directories given as a repeatable flag (before `--`) and as a PATH-style
// environment variable. Agents never reach these; only whoever starts the server does.

/** The absolute directories given with `flag DIR` / `flag=DIR` and in `envName`, without duplicates. */
export function directoryOption(argv: readonly string[], env: NodeJS.ProcessEnv, flag: string, envName: string): string[] {
  const terminator = argv.indexOf("--");
  const options = terminator === -1 ? argv : argv.slice(0, terminator);
  const dirs: string[] = [];
  for (let i = 0; i < options.length; i++) {
    const word = options[i] ?? "";
    if (word === flag && options[i + 1] !== undefined) dirs.push(options[++i] ?? "");
    else if (word.startsWith(`${flag}=`)) dirs.push(word.slice(flag.length + 1));
  }
  for (const dir of (env[envName] ?? "").split(delimiter)) dirs.push(dir);
  return [...new Set(dirs.filter((dir) => dir.trim() !== "").map((dir) => resolve(dir)))];
}
