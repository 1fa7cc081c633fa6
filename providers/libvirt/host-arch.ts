// The guest architecture and the QEMU emulator follow the host: a guest of another architecture would run under
// full emulation, which no test here wants.

const QEMU_ARCH: Readonly<Record<string, string>> = {
  x64: "x86_64",
  arm64: "aarch64",
  ppc64: "ppc64",
  s390x: "s390x",
  riscv64: "riscv64",
  ia32: "i386",
  arm: "arm",
};

/** QEMU's name for the architecture of this host (process.arch), e.g. x86_64 or aarch64. */
export function hostQemuArch(nodeArch: string = process.arch): string {
  return QEMU_ARCH[nodeArch] ?? nodeArch;
}

/** The system emulator for this host's architecture, e.g. qemu-system-x86_64. */
export function hostEmulator(nodeArch: string = process.arch): string {
  return `qemu-system-${hostQemuArch(nodeArch)}`;
}
