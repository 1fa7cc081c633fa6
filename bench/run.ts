// `npm run bench` (node dist/bench/run.js): without a name, lists the benchmarks; with one, runs it in a child
// process with the remaining arguments, exactly as `node dist/bench/<name>.js ...` would, and exits with its code.
// Benchmarks that need the libvirt test host are refused, with what to do, when this process cannot use it.
import { spawn } from "node:child_process";
import { constants } from "node:os";
import { join } from "node:path";
import { probeTestHost, type TestHostProblem } from "../test/helpers/testhost-probe.js";
import { BENCHMARKS, findBenchmark, type Benchmark } from "./catalog.js";

const USAGE_EXIT = 2;
const REFUSED_EXIT = 1;

/** `stub-roundtrip [runs]` */
function usage(benchmark: Benchmark): string {
  return benchmark.args ? `${benchmark.name} ${benchmark.args}` : benchmark.name;
}

function listing(): string {
  const width = Math.max(...BENCHMARKS.map((benchmark) => usage(benchmark).length));
  const lines = BENCHMARKS.map((benchmark) => {
    const where = benchmark.needsTestHost ? " [needs the libvirt test host]" : "";
    return `  ${usage(benchmark).padEnd(width)}  ${benchmark.summary}${where}`;
  });
  return [
    "usage: npm run bench -- <name> [args]   (after npm run build)",
    "",
    "benchmarks:",
    ...lines,
    "",
    "Benchmarks marked [needs the libvirt test host] run inside it: scripts/testhost.sh up, then",
    "  scripts/testhost.sh exec -- npm run bench -- <name> [args]",
    "Figures and how they were taken: docs/performance.md.",
  ].join("\n");
}

function refusal(benchmark: Benchmark, problem: TestHostProblem): string {
  const why =
    problem.kind === "outside-namespace"
      ? `this process is in network namespace ${problem.actual ?? "<root>"}, not the test host's ${problem.wanted}`
      : `libvirt does not answer on ${problem.uri}`;
  return [
    `bench ${benchmark.name} needs the libvirt test host, which this process cannot use: ${why}.`,
    "Start it and run the benchmark inside it:",
    "  scripts/testhost.sh up",
    `  scripts/testhost.sh exec -- npm run bench -- ${usage(benchmark)}`,
  ].join("\n");
}

function runScript(benchmark: Benchmark, args: readonly string[]): Promise<number> {
  const script = join(import.meta.dirname, `${benchmark.name}.js`);
  const child = spawn(process.execPath, [script, ...args], { stdio: "inherit" });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    // A shell's convention for a child killed by a signal: 128 + its number.
    child.once("exit", (code, signal) => resolve(code ?? (signal === null ? 1 : 128 + constants.signals[signal])));
  });
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === "list" || name === "--help" || name === "-h") {
    process.stdout.write(`${listing()}\n`);
    return 0;
  }
  const benchmark = findBenchmark(name);
  if (benchmark === undefined) {
    process.stderr.write(`no benchmark named ${JSON.stringify(name)}\n\n${listing()}\n`);
    return USAGE_EXIT;
  }
  if (benchmark.needsTestHost) {
    const problem = probeTestHost();
    if (problem !== undefined) {
      process.stderr.write(`${refusal(benchmark, problem)}\n`);
      return REFUSED_EXIT;
    }
  }
  return runScript(benchmark, args);
}

process.exitCode = await main(process.argv.slice(2));
