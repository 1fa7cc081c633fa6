// The benchmarks `npm run bench` knows: each is a script of its own (bench/<name>.ts, built to dist/bench/<name>.js)
// that can also be run directly with node. Figures and how they were taken: docs/performance.md.

export interface Benchmark {
  name: string;
  /** One line: what is measured, and the goal where there is one. */
  summary: string;
  /** The arguments the script takes, as usage text; empty for none. */
  args: string;
  /** Needs the libvirt test host (scripts/testhost.sh): guests are reachable only inside its namespace. */
  needsTestHost: boolean;
}

export const BENCHMARKS: readonly Benchmark[] = [
  { name: "stub-roundtrip", summary: "design example create+delete on the stub through MCP stdio (goal: median <= 500 ms)", args: "[runs]", needsTestHost: false },
  { name: "bin-startup", summary: "start-up of every bin to its MCP tool list, and the Forge-style round trip on the stub (goal <= 800 ms), against a baseline build", args: "<baseline package root> [runs]", needsTestHost: false },
  { name: "stub-scale", summary: "10/100/1000 resources on the stub (goal: 1000 <= 5 s), 20 keys in parallel vs 1 (goal <= 1.3x)", args: "[sizes, e.g. 10,100,1000]", needsTestHost: false },
  { name: "state-writes", summary: "atomic state save and load, and a coalesced burst of writes, for 10/100/1000 resources", args: "", needsTestHost: false },
  { name: "image-verify", summary: "SHA-256 verification throughput of the image cache on a 1 GiB file (goal >= 1 GB/s)", args: "[MiB]", needsTestHost: false },
  { name: "image-reuse", summary: "a create that downloads its https image vs a second create that reuses the cache", args: "[MiB]", needsTestHost: false },
  { name: "exec-latency", summary: "exec round trip over one kept SSH connection vs a new connection per command", args: "[iterations]", needsTestHost: false },
  { name: "podman-cycle", summary: "a container through the podman provider vs the podman CLI by hand: create to SSH, and up/stop/start/rm (root)", args: "[runs]", needsTestHost: false },
  { name: "podman-api", summary: "podman CLI (argv) vs its REST API on a unix socket: create to the first SSH command (root)", args: "[runs]", needsTestHost: false },
  { name: "plan-doctor", summary: "plan of the 4-resource example and of 100 VMs on the stub; doctor with all providers in parallel vs one by one", args: "[runs]", needsTestHost: false },
  { name: "libvirt-four-resource", summary: "the design's 4-resource (or a NAT) environment on libvirt vs a hand-written script (goals <= 1.10x and <= 0.85x create, <= 1.0x delete), with the guest's own boot floor", args: "[runs] [design|nat]", needsTestHost: true },
  { name: "project-folder", summary: "testenv-vm up | ssh | stop | start | rm in a project folder vs the same steps by hand with virsh and ssh", args: "[runs]", needsTestHost: true },
  { name: "snapshot-restore", summary: "restore of the 4-resource environment from a snapshot to SSH-ready vs its cold create (goal: restore <= 3 s)", args: "[pairs, at least 7]", needsTestHost: true },
  { name: "snapshot-methods", summary: "how one saved VM comes back: virsh save/restore vs libvirt internal snapshots, restore --paused, 128 MiB, destroy vs kill", args: "[pairs, at least 7]", needsTestHost: true },
  { name: "libvirt-remote", summary: "the 4-resource environment on the second (remote, over SSH) test host vs the local one, interleaved", args: "[pairs, at least 5]", needsTestHost: true },
  { name: "libvirt-pool", summary: "6 4-resource environments at once from separate processes: a pool of the local and the remote test host vs the local host alone", args: "[rounds]", needsTestHost: true },
  { name: "libvirt-parallel", summary: "3 tiny VMs in one phase vs 1 VM on libvirt: how much the boots overlap", args: "[runs]", needsTestHost: true },
];

export function findBenchmark(name: string): Benchmark | undefined {
  return BENCHMARKS.find((benchmark) => benchmark.name === name);
}
