import type Ssh2 from "ssh2";

// ssh2 costs every process that imports it ~50 ms of start-up (a CommonJS tree resolved and compiled file by
// file), and most processes never open a connection or make a key: it is loaded on first use, once.
let loaded: Promise<typeof Ssh2> | undefined;

/** The ssh2 module. It is CommonJS: its exports are the namespace's default, bundled or not. */
export function loadSsh2(): Promise<typeof Ssh2> {
  loaded ??= import("ssh2").then((module) => (module as unknown as { default: typeof Ssh2 }).default);
  return loaded;
}
