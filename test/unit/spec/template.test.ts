import { describe, expect, it } from "vitest";
import { TestenvError } from "../../../src/errors.js";
import {
  TEMPLATE_FIELDS,
  emptyTemplateContext,
  extractTemplateRefs,
  findTemplateSyntaxIssues,
  hasTemplate,
  renderTemplates,
  type TemplateContext,
} from "../../../src/spec/template.js";

function context(): TemplateContext {
  const ctx = emptyTemplateContext({ FOO: "bar", "MY-VAR": "dash", EMPTY: "" });
  ctx.Keys["vm-ssh"] = { Name: "abc123-vm-ssh", PublicKey: "ssh-ed25519 AAAA user@host", PrivateKeyPath: "/k/vm-ssh", PublicKeyPath: "/k/vm-ssh.pub", Fingerprint: "SHA256:x" };
  ctx.Keys["my.key"] = { Name: "my.key", PublicKey: "ssh-rsa BBBB", PrivateKeyPath: "/k/my.key", PublicKeyPath: "/k/my.key.pub", Fingerprint: "SHA256:y" };
  ctx.Networks.br0 = { Name: "br0", IP: "192.168.100.1", CIDR: "192.168.100.0/24", Gateway: "192.168.100.1", InterfaceName: "tvm-br0", UUID: "u-1" };
  ctx.VMs["web-1"] = { Name: "web-1", IP: "192.168.100.10", MAC: "52:54:00:00:00:01", SSHCommand: "ssh -i /k ubuntu@192.168.100.10" };
  const ubuntu = { Name: "ubuntu", Path: "/cache/ubuntu.qcow2" };
  ctx.Images.ubuntu = ubuntu;
  ctx.Images["base-image"] = ubuntu;
  ctx.DefaultBaseImage = "/cache/ubuntu.qcow2";
  return ctx;
}

function renderError(value: unknown, ctx: TemplateContext, base = "vms[0]"): TestenvError {
  try {
    renderTemplates(value, ctx, base);
  } catch (error) {
    if (error instanceof TestenvError) return error;
    throw error;
  }
  throw new Error("expected TEMPLATE_ERROR");
}

describe("renderTemplates", () => {
  it("renders Go-style references with hyphens, in every category", () => {
    const out = renderTemplates(
      {
        key: "{{ .Keys.vm-ssh.PublicKey }}",
        compact: "{{.Keys.vm-ssh.PrivateKeyPath}}",
        dotted: "{{ .Keys.my.key.PublicKey }}",
        net: "{{ .Networks.br0.IP }}/{{ .Networks.br0.InterfaceName }}",
        vm: "{{ .VMs.web-1.SSHCommand }}",
        image: "{{ .Images.ubuntu.Path }}",
        alias: "{{ .Images.base-image.Path }}",
        env: "{{ .Env.FOO }}-{{ .Env.MY-VAR }}[{{ .Env.EMPTY }}]",
        base: "{{ .DefaultBaseImage }}",
      },
      context(),
    );
    expect(out).toEqual({
      key: "ssh-ed25519 AAAA user@host",
      compact: "/k/vm-ssh",
      dotted: "ssh-rsa BBBB",
      net: "192.168.100.1/tvm-br0",
      vm: "ssh -i /k ubuntu@192.168.100.10",
      image: "/cache/ubuntu.qcow2",
      alias: "/cache/ubuntu.qcow2",
      env: "bar-dash[]",
      base: "/cache/ubuntu.qcow2",
    });
  });

  it("deep-copies arrays, nested maps and non-strings without touching the input", () => {
    const input = { spec: { memory: 512, on: true, none: null, users: [{ keys: ["{{ .Keys.vm-ssh.Fingerprint }}", "plain"] }] }, providerSpec: { deep: { list: ["{{ .Env.FOO }}"] } } };
    const out = renderTemplates(input, context());
    expect(out).toEqual({ spec: { memory: 512, on: true, none: null, users: [{ keys: ["SHA256:x", "plain"] }] }, providerSpec: { deep: { list: ["bar"] } } });
    expect(input.spec.users[0]?.keys[0]).toBe("{{ .Keys.vm-ssh.Fingerprint }}");
    expect(out.spec.users).not.toBe(input.spec.users);
  });

  it("does not HTML-escape: <, &, quotes and backslashes survive", () => {
    const ctx = emptyTemplateContext({ X: `<a href="x">&'\\` });
    expect(renderTemplates(`echo '{{ .Env.X }}' && \\{{ .Env.X }}`, ctx)).toBe(`echo '<a href="x">&'\\' && \\<a href="x">&'\\`);
  });

  it("leaves strings without {{ untouched and never passes literal text through handlebars", () => {
    expect(renderTemplates("no template here }} {", emptyTemplateContext())).toBe("no template here }} {");
    expect(hasTemplate("a {{ b")).toBe(true);
    expect(hasTemplate("plain")).toBe(false);
  });

  it("renders Go string constants, the escape for literal braces", () => {
    const text = `docker inspect --format '{{ "{{" }}.State.Running{{ "}}" }}' {{ \`x\` }}`;
    expect(renderTemplates(text, emptyTemplateContext())).toBe("docker inspect --format '{{.State.Running}}' x");
    expect(extractTemplateRefs(text)).toEqual([]);
    expect(findTemplateSyntaxIssues("--format '{{.State.Running}}'")[0]?.message).toContain('write literal braces as {{ "{{" }}');
  });

  it("supports Go trim markers", () => {
    expect(renderTemplates("a   {{- .Env.FOO -}}   b", emptyTemplateContext({ FOO: "x" }))).toBe("axb");
  });

  it("fails on a missing key, naming the field path, the reference and what is available", () => {
    const error = renderError({ spec: { cloudInit: { users: [{ sshAuthorizedKeys: ["{{ .Keys.vm-sh.PublicKey }}"] }] } } }, context());
    expect(error.code).toBe("TEMPLATE_ERROR");
    expect(error.message).toContain("vms[0].spec.cloudInit.users[0].sshAuthorizedKeys[0]");
    expect(error.message).toContain("{{ .Keys.vm-sh.PublicKey }}");
    expect(error.message).toContain('did you mean "vm-ssh"?');
    expect(error.message).toContain("available: vm-ssh, my.key");
    expect(error.issues[0]?.field).toBe("vms[0].spec.cloudInit.users[0].sshAuthorizedKeys[0]");
  });

  it("fails on a missing field or env var instead of rendering <no value> or an empty string", () => {
    const ctx = context();
    delete ctx.Networks.br0!.Gateway;
    expect(renderError({ gw: "{{ .Networks.br0.Gateway }}" }, ctx).message).toContain("the provider returned no Gateway");
    expect(renderError({ x: "{{ .Keys.vm-ssh.Pubkey }}" }, ctx).message).toContain("no field Pubkey");
    const env = renderError({ x: "{{ .Env.NOPE }}" }, ctx);
    expect(env.message).toContain('environment variable "NOPE" is not set');
    expect(env.message).not.toContain("<no value>");
    expect(renderError({ x: "{{ .DefaultBaseImage }}" }, emptyTemplateContext()).message).toContain("defaultBaseImage is not set");
  });

  it("rejects unsupported Go template syntax instead of guessing", () => {
    expect(renderError({ x: '{{ printf "%s" .Env.FOO }}' }, context()).message).toContain("unsupported template expression");
    expect(renderError({ x: "{{ .Keyz.vm-ssh.PublicKey }}" }, context()).message).toContain("did you mean .Keys?");
    expect(renderError({ x: "{{ .Env.FOO" }, context()).message).toContain("unclosed template action");
  });
});

describe("extractTemplateRefs", () => {
  it("finds every reference in every string, with its field path", () => {
    const vm = {
      name: "v",
      spec: {
        network: "{{ .Networks.br0.Name }}",
        cloudInit: { users: [{ sshAuthorizedKeys: ["{{ .Keys.a.PublicKey }} and {{ .Keys.b-c.PublicKey }}"] }], runcmd: ["echo {{.Env.HOME}} {{ .DefaultBaseImage }}"] },
      },
      providerSpec: { extra: { nested: ["{{ .Images.ubuntu.Path }}", "{{ .VMs.other.IP }}"] } },
    };
    const refs = extractTemplateRefs(vm, "vms[0]").map(({ category, name, field, path }) => ({ category, name, field, path }));
    expect(refs).toEqual([
      { category: "Networks", name: "br0", field: "Name", path: "vms[0].spec.network" },
      { category: "Keys", name: "a", field: "PublicKey", path: "vms[0].spec.cloudInit.users[0].sshAuthorizedKeys[0]" },
      { category: "Keys", name: "b-c", field: "PublicKey", path: "vms[0].spec.cloudInit.users[0].sshAuthorizedKeys[0]" },
      { category: "Env", name: "HOME", field: undefined, path: "vms[0].spec.cloudInit.runcmd[0]" },
      { category: "DefaultBaseImage", name: undefined, field: undefined, path: "vms[0].spec.cloudInit.runcmd[0]" },
      { category: "Images", name: "ubuntu", field: "Path", path: "vms[0].providerSpec.extra.nested[0]" },
      { category: "VMs", name: "other", field: "IP", path: "vms[0].providerSpec.extra.nested[1]" },
    ]);
    expect(extractTemplateRefs(vm, "vms[0]")[1]?.raw).toBe("{{ .Keys.a.PublicKey }}");
  });

  it("reports syntax problems separately", () => {
    expect(findTemplateSyntaxIssues({ a: "{{ .Keys.k }}", b: "{{ .Nope.x.y }}" })).toEqual([
      { field: "a", message: expect.stringContaining("needs a resource name and a field") },
      { field: "b", message: expect.stringContaining("unknown template variable .Nope") },
    ]);
  });

  it("documents the fields of each category", () => {
    expect(TEMPLATE_FIELDS.Networks).toContain("Gateway");
    expect(TEMPLATE_FIELDS.Keys).toEqual(["Name", "PublicKey", "PrivateKeyPath", "PublicKeyPath", "Fingerprint"]);
  });
});
