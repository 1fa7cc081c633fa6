import { resolve } from "node:path";
import type { Issue } from "../errors.js";
import type { LoadedSpec } from "../spec/load.js";
import { parsePath } from "../spec/paths.js";
import { stringFlag, type ParsedArgs } from "./args.js";

/** The spec file of a command: --spec (default ./forge.yaml), its --name entry when forge.yaml has several. */
export class SpecFile {
  readonly path: string;
  /** --spec was given: the user named this file, so it must load. */
  readonly named: boolean;
  readonly #entry: string | undefined;
  #subject: LoadedSpec | undefined;

  constructor(cwd: string, args: ParsedArgs) {
    const given = stringFlag(args.flags, "spec");
    this.path = resolve(cwd, given ?? "forge.yaml");
    this.named = given !== undefined;
    this.#entry = stringFlag(args.flags, "name");
  }

  /** Loads the spec the command works on; a failure of the command is then reported with line:col in it. */
  async load(): Promise<LoadedSpec> {
    this.#subject ??= await this.read();
    return this.#subject;
  }

  /** Reads the file for one setting (its stateDir, its images) without making it the command's subject. */
  async read(): Promise<LoadedSpec> {
    // Imported here: the YAML parser and the spec schema are the heaviest part of start-up.
    const { loadSpecFile } = await import("../spec/load.js");
    return loadSpecFile(this.path, this.#entry === undefined ? {} : { name: this.#entry });
  }

  /** Adds line:col to issues that name a spec field, once the command's spec has loaded. */
  locate(issues: readonly Issue[]): Issue[] {
    const loaded = this.#subject;
    if (!loaded) return [...issues];
    return issues.map((issue) => {
      if (issue.line !== undefined) return issue;
      const field = issue.field.startsWith("spec.") ? issue.field.slice(5) : issue.field;
      const at = loaded.locate(parsePath(field));
      return at ? { ...issue, line: at.line, col: at.col } : issue;
    });
  }
}
