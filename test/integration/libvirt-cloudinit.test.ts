import { readFileSync } from "node:fs";
import { afterAll, expect, it } from "vitest";
import { sshExec } from "../../providers/libvirt/vm/readiness.js";
import { ensureTestImages } from "../helpers/images.js";
import { describeIfTestHost } from "../helpers/testhost.js";
import { leaks, newEnv, removeEnvFiles, startProvider, type ProviderKey } from "./libvirt-support.js";

// Real cloud-init (Debian image) accepts the seed ISO we generate: user with sudo/shell/groups,
// write_files, runcmd, hostname, and `cloud-init status --wait` as readiness. About 1-2 minutes of
// TCG boot, so it runs only when TESTENV_VM_IT_REAL_CLOUDINIT=1 (the e2e_libvirt stage boots this image too).

const enabled = process.env.TESTENV_VM_IT_REAL_CLOUDINIT === "1";

describeIfTestHost("libvirt provider: real cloud-init accepts our seed", () => {
  const env = newEnv("ci");
  const { name } = env;
  afterAll(() => removeEnvFiles(env));

  it.runIf(enabled)("boots the Debian cloud-init image to cloud-init done and applies every field", async () => {
    const images = ensureTestImages("debian-ci");
    await using provider = await startProvider(env);
    try {
      const key = (await provider.call("key_create", { name: name("ssh"), spec: { type: "ed25519", comment: "ci@it" } })).resource as ProviderKey;
      expect((await provider.call("network_create", { name: name("net"), kind: "libvirt", spec: { cidr: "192.168.226.1/24" } })).success).toBe(true);
      const created = await provider.call(
        "vm_create",
        {
          name: name("vm"),
          spec: {
            memory: 1024,
            vcpus: 2,
            networks: [name("net")],
            disk: { baseImage: images.debianCi, size: "4G" },
            boot: { order: ["hd"] },
            cloudInit: {
              hostname: "real-ci",
              users: [{ name: "tester", sudo: "ALL=(ALL) NOPASSWD:ALL", shell: "/bin/bash", groups: ["adm"], sshAuthorizedKeys: [key.publicKey] }],
              writeFiles: [{ path: "/etc/testenv/hello.conf", content: "key: 'value'\n# comment & <tag>\n", permissions: "0640" }],
              runcmd: ["echo runcmd-ok > /var/tmp/runcmd.txt", "set -e\ntouch /var/tmp/multi-line"],
            },
            readiness: { ssh: { enabled: true, timeout: "8m" }, cloudInit: { enabled: true, timeout: "10m" } },
          },
        },
        900_000,
      );
      expect(created.success, JSON.stringify(created.error)).toBe(true);
      const vm = created.resource as { ip: string; sshUser: string };
      expect(vm.sshUser).toBe("tester");
      const out = await sshExec(
        { host: vm.ip, port: 22, user: "tester", privateKey: readFileSync(key.privateKeyPath, "utf8") },
        "hostname; id -nG; getent passwd tester | cut -d: -f7; sudo -n true && echo sudo-ok; sudo cat /etc/testenv/hello.conf; stat -c %a /etc/testenv/hello.conf; cat /var/tmp/runcmd.txt; test -f /var/tmp/multi-line && echo multi-ok",
        60_000,
      );
      expect(out.stdout).toBe("real-ci\ntester adm\n/bin/bash\nsudo-ok\nkey: 'value'\n# comment & <tag>\n640\nruncmd-ok\nmulti-ok\n");
    } finally {
      await provider.call("vm_delete", { name: name("vm") });
      await provider.call("network_delete", { name: name("net") });
      await provider.call("key_delete", { name: name("ssh") });
    }
    expect(leaks(env)).toEqual([]);
  });
});
