import { defineConfig } from "vitest/config";

// One project per test stage named in forge.yaml; `vitest run --project <stage>`.
export default defineConfig({
  test: {
    restoreMocks: true,
    unstubEnvs: true,
    projects: [
      { test: { name: "unit", include: ["test/unit/**/*.test.ts"], testTimeout: 20_000 } },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          globalSetup: ["test/helpers/build-once.ts"],
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          testTimeout: 600_000,
          hookTimeout: 600_000,
          fileParallelism: false,
          globalSetup: ["test/helpers/build-once.ts"],
        },
      },
      {
        test: {
          name: "e2e_libvirt",
          include: ["test/e2e-libvirt/**/*.test.ts"],
          testTimeout: 900_000,
          hookTimeout: 900_000,
          fileParallelism: false,
          globalSetup: ["test/helpers/build-once.ts"],
        },
      },
      {
        test: {
          name: "podman",
          include: ["test/podman/**/*.test.ts"],
          testTimeout: 300_000,
          hookTimeout: 600_000,
          globalSetup: ["test/podman/global-setup.ts"],
        },
      },
    ],
  },
});
