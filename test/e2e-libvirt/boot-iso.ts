import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

// A UEFI-bootable test ISO built from the tiny image's kernel and initramfs, for a manifest VM that boots from its
// ISO to SSH. The Debian cloud kernel has no AHCI driver, so the guest cannot read a SATA CD-ROM once Linux runs:
// the NoCloud seed therefore travels inside the boot, as a second initramfs archive that lands in /mnt/seed (the
// tiny init takes /mnt/seed/meta-data there as its seed). The firmware reads the kernel from the El Torito EFI
// image (a FAT holding syslinux.efi as the removable-media loader) through its own CD-ROM driver.

const SYSLINUX_EFI = "/usr/lib/SYSLINUX.EFI/efi64/syslinux.efi";
const LDLINUX_E64 = "/usr/lib/syslinux/modules/efi64/ldlinux.e64";
/** On the kernel command line, so a test can tell that the guest came up from this ISO. */
export const ISO_BOOT_MARKER = "tvm.boot=iso";

export interface BootIsoOptions {
  kernel: string;
  initrd: string;
  /** OpenSSH public key line the guest authorizes for root. */
  authorizedKey: string;
  hostname: string;
  /** Scratch directory (created). */
  workDir: string;
  output: string;
}

/** The seed as a newc cpio archive (gzip): /mnt/seed/meta-data and /mnt/seed/user-data. */
function seedArchive(root: string, options: BootIsoOptions): Buffer {
  mkdirSync(join(root, "mnt", "seed"), { recursive: true });
  writeFileSync(join(root, "mnt/seed/meta-data"), `instance-id: ${options.hostname}\nlocal-hostname: ${options.hostname}\n`);
  writeFileSync(join(root, "mnt/seed/user-data"), `#cloud-config\nhostname: ${options.hostname}\nssh_authorized_keys:\n  - ${options.authorizedKey}\n`);
  const entries = ["mnt", "mnt/seed", "mnt/seed/meta-data", "mnt/seed/user-data"];
  return gzipSync(execFileSync("cpio", ["-o", "-H", "newc", "-R", "0:0", "--quiet"], { cwd: root, input: `${entries.join("\n")}\n` }));
}

function syslinuxConfig(): string {
  return [
    "SERIAL 0 115200",
    "DEFAULT linux",
    "PROMPT 0",
    "TIMEOUT 0",
    "LABEL linux",
    "  KERNEL /vmlinuz",
    "  INITRD /initrd.gz",
    `  APPEND console=tty0 console=ttyS0,115200n8 panic=10 ${ISO_BOOT_MARKER}`,
    "",
  ].join("\n");
}

/** The El Torito EFI boot image: a FAT superfloppy with the loader, its config, the kernel and the initramfs. */
function efiBootImage(image: string, files: { vmlinuz: string; initrd: string; config: string }): void {
  const payload = statSync(files.vmlinuz).size + statSync(files.initrd).size + statSync(SYSLINUX_EFI).size + statSync(LDLINUX_E64).size;
  // Whole MiB with room for FAT overhead; must stay under the 32 MiB an El Torito entry's sector count can describe.
  const sizeMiB = Math.ceil(payload / 1024 ** 2) + 4;
  writeFileSync(image, "");
  truncateSync(image, sizeMiB * 1024 ** 2);
  execFileSync("mformat", ["-i", image, "-T", String(sizeMiB * 2048), "-h", "64", "-s", "32", "-v", "TVMEFI", "::"]);
  execFileSync("mmd", ["-i", image, "::/EFI", "::/EFI/BOOT"]);
  execFileSync("mcopy", ["-i", image, SYSLINUX_EFI, "::/EFI/BOOT/BOOTX64.EFI"]);
  execFileSync("mcopy", ["-i", image, LDLINUX_E64, "::/EFI/BOOT/ldlinux.e64"]);
  execFileSync("mcopy", ["-i", image, files.config, "::/EFI/BOOT/syslinux.cfg"]);
  execFileSync("mcopy", ["-i", image, files.vmlinuz, "::/vmlinuz"]);
  execFileSync("mcopy", ["-i", image, files.initrd, "::/initrd.gz"]);
}

/** Writes options.output: an ISO 9660 image with an El Torito EFI entry that boots the tiny system with the seed. */
export function buildBootIso(options: BootIsoOptions): void {
  const isoRoot = join(options.workDir, "iso-root");
  mkdirSync(isoRoot, { recursive: true });
  // The kernel unpacks concatenated (separately compressed) cpio archives in order: the seed lands on top.
  const initrd = join(options.workDir, "initrd-with-seed.gz");
  writeFileSync(initrd, Buffer.concat([readFileSync(options.initrd), seedArchive(join(options.workDir, "seed-root"), options)]));
  const vmlinuz = join(options.workDir, "vmlinuz");
  copyFileSync(options.kernel, vmlinuz);
  const config = join(options.workDir, "syslinux.cfg");
  writeFileSync(config, syslinuxConfig());
  efiBootImage(join(isoRoot, "efiboot.img"), { vmlinuz, initrd, config });
  execFileSync("xorriso", ["-as", "mkisofs", "-quiet", "-V", "TVMBOOT", "-o", options.output, "-e", "efiboot.img", "-no-emul-boot", isoRoot]);
}
