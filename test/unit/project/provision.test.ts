import { describe, expect, it } from "vitest";
import { ansibleFailure, provisionKind } from "../../../src/project/provision.js";
import { sshArgs, sshCommandLine } from "../../../src/project/ssh-command.js";

describe("provisioning", () => {
  it("runs .yml/.yaml with ansible and anything else as a script", () => {
    expect(provisionKind("site.yml")).toBe("ansible");
    expect(provisionKind("deploy/Site.YAML")).toBe("ansible");
    expect(provisionKind("setup.sh")).toBe("script");
    expect(provisionKind("setup")).toBe("script");
  });

  it("names the failing Ansible task and its message", () => {
    const output = [
      "PLAY [all] *****",
      "TASK [Gathering Facts] *****",
      "ok: [box]",
      "TASK [install the impossible] *****",
      'fatal: [box]: FAILED! => {"changed": true, "cmd": ["/bin/false"], "msg": "non-zero return code", "rc": 1}',
      "PLAY RECAP *****",
    ];
    expect(ansibleFailure(output)).toEqual({ task: "install the impossible", message: "non-zero return code" });
    expect(ansibleFailure(["TASK [x] ***", "fatal: [box]: UNREACHABLE! => not json"])).toEqual({ task: "x", message: "not json" });
    expect(ansibleFailure(["TASK [only] ***"])).toEqual({ task: "only" });
  });
});

describe("ssh argv", () => {
  const endpoint = { host: "192.168.122.5", port: 22, user: "dev", privateKeyPath: "/p/my key", knownHostsPath: "/p/.testenv-vm/known_hosts" };

  it("uses the instance's key and known_hosts, never prompts, and passes the command after --", () => {
    const args = sshArgs(endpoint, { command: ["cat", "/etc/hostname"] });
    expect(args).toEqual(expect.arrayContaining(["-i", "/p/my key", "-p", "22", "-o", "UserKnownHostsFile=/p/.testenv-vm/known_hosts", "-o", "StrictHostKeyChecking=accept-new", "-o", "BatchMode=yes"]));
    expect(args.slice(-4)).toEqual(["dev@192.168.122.5", "--", "cat", "/etc/hostname"]);
    expect(sshArgs(endpoint, { tty: true })).toContain("-t");
  });

  it("prints a line a person can paste, quoted for a POSIX shell", () => {
    expect(sshCommandLine(endpoint)).toContain("-i '/p/my key'");
  });
});
