import type { CliIo } from "./command.js";

/** With --json, stdout holds exactly this one document. */
export function writeJson(io: Pick<CliIo, "stdout">, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Columns padded to their widest cell; the last column is not padded. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ")).join("\n");
}

export function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => `  ${line}`)
    .join("\n");
}

export function firstLine(text: string): string {
  return text.split("\n")[0] ?? text;
}

/** A word as a POSIX shell reads it back unchanged, so a printed hint runs as printed. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** A command line from argv words, quoted for the shell. */
export function commandLine(argv: readonly string[]): string {
  return argv.map(shellWord).join(" ");
}
