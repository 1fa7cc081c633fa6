import { execFileSync } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

// Guest images built (and cached by content hash) by scripts/images/build.sh.

export type TestImageKind = "tiny" | "pxe" | "debian-ci";

export interface TestImages {
  /** The cache directory (TESTENV_VM_TEST_IMAGES_DIR). */
  dir: string;
  /** BIOS+UEFI bootable qcow2 (busybox + dropbear, tiny NoCloud init). Use as a backing file only. */
  tiny: string;
  /** The tiny image's kernel and initramfs, for direct kernel boot. */
  tinyKernel: string;
  tinyInitrd: string;
  /** Debian bookworm with real cloud-init + openssh-server (qcow2). */
  debianCi: string;
  /** TFTP root: vmlinuz, initrd.gz, boot.ipxe, pxelinux.0, ldlinux.c32, pxelinux.cfg/default. */
  pxeRoot: string;
}

const DEFAULT_DIR = "/var/cache/testenv-vm/test-images";
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BUILD_SCRIPT = path.join(REPO_ROOT, "scripts/images/build.sh");

export function testImagesDir(): string {
  return process.env.TESTENV_VM_TEST_IMAGES_DIR ?? DEFAULT_DIR;
}

// `<dir>/<kind>` is a symlink to `<kind>-<hash>`; resolve it so a rebuild during a run cannot swap the
// backing file under a running VM's overlay.
function kindDir(dir: string, kind: TestImageKind): string {
  const link = path.join(dir, kind);
  return existsSync(link) ? realpathSync(link) : link;
}

/** Paths of the cached images (whether or not they are built; see ensureTestImages). */
export function testImages(): TestImages {
  const dir = testImagesDir();
  const tiny = kindDir(dir, "tiny");
  return {
    dir,
    tiny: path.join(tiny, "tiny.qcow2"),
    tinyKernel: path.join(tiny, "vmlinuz"),
    tinyInitrd: path.join(tiny, "initrd.gz"),
    debianCi: path.join(kindDir(dir, "debian-ci"), "debian-ci.qcow2"),
    pxeRoot: path.join(kindDir(dir, "pxe"), "tftp"),
  };
}

/**
 * Builds the requested images unless cached (a few seconds for tiny/pxe, ~80-100 s for debian-ci), so a
 * single integration test file can be run by hand. Needs root and the packages of scripts/setup.sh.
 */
export function ensureTestImages(which: TestImageKind | readonly TestImageKind[] = "tiny"): TestImages {
  const kinds = typeof which === "string" ? [which] : [...which];
  execFileSync("bash", [BUILD_SCRIPT, ...kinds], {
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, TESTENV_VM_TEST_IMAGES_DIR: testImagesDir() },
  });
  return testImages();
}
