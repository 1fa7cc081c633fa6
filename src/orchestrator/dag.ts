import type { Spec } from "../../api/spec.js";
import type { NodeKind, ResourceRef } from "../../api/state.js";
import { TestenvError, quoted } from "../errors.js";
import { extractTemplateRefs, hasTemplate, type TemplateRef } from "../spec/template.js";
import { vmNetworkNames } from "../spec/validate.js";

// Which resource waits for which: every template reference in every string of a resource, plus the literal
// fields that name another resource (network attachTo, VM networks, VM baseImage / defaultBaseImage).

export interface Dag {
  /** Images, keys, networks, VMs, each in spec order. */
  nodes: ResourceRef[];
  /** What `ref` waits for, in node order. */
  dependenciesOf(ref: NodeId): ResourceRef[];
  /** What waits for `ref`, in node order. */
  dependentsOf(ref: NodeId): ResourceRef[];
  /** Execution phases: each resource after all it depends on; inside a phase by kind, then spec order. */
  phases(): ResourceRef[][];
}

type NodeId = Pick<ResourceRef, "kind" | "name">;

export function refKey(ref: NodeId): string {
  return `${ref.kind}:${ref.name}`;
}

const CATEGORY_KIND: Partial<Record<TemplateRef["category"], NodeKind>> = {
  Keys: "key",
  Networks: "network",
  VMs: "vm",
  Images: "image",
};

function describe(ref: NodeId): string {
  return `${ref.kind} ${ref.name}`;
}

class Graph {
  readonly nodes: ResourceRef[] = [];
  private readonly index = new Map<string, number>();
  /** deps[i]: node → why (the field path that creates the edge); Map keeps the first reason. */
  readonly deps: Map<number, string>[] = [];

  addNode(ref: ResourceRef, field: string): number {
    const key = refKey(ref);
    if (this.index.has(key)) {
      throw new TestenvError("SPEC_INVALID", `${describe(ref)} is defined twice (${field}); give each ${ref.kind} a unique name`, {
        issues: [{ field, message: `duplicate ${ref.kind} name ${JSON.stringify(ref.name)}` }],
      });
    }
    const i = this.nodes.length;
    this.nodes.push(ref);
    this.index.set(key, i);
    this.deps.push(new Map());
    return i;
  }

  find(kind: NodeKind, name: string): number | undefined {
    return this.index.get(`${kind}:${name}`);
  }

  indexOf(ref: NodeId): number {
    const i = this.index.get(refKey(ref));
    if (i === undefined) throw new TestenvError("INTERNAL", `${describe(ref)} is not a node of this dependency graph`);
    return i;
  }

  addEdge(from: number, to: number, why: string): void {
    const edges = this.deps[from];
    if (edges !== undefined && !edges.has(to)) edges.set(to, why);
  }
}

export function buildDag(spec: Spec): Dag {
  const graph = new Graph();
  const images = spec.images ?? [];
  const keys = spec.keys ?? [];
  const networks = spec.networks ?? [];
  const vms = spec.vms ?? [];

  images.forEach((image, i) => graph.addNode({ kind: "image", name: image.name }, `images[${i}].name`));
  keys.forEach((key, i) => graph.addNode(withProvider("key", key.name, key.provider), `keys[${i}].name`));
  networks.forEach((net, i) => graph.addNode(withProvider("network", net.name, net.provider), `networks[${i}].name`));
  vms.forEach((vm, i) => graph.addNode(withProvider("vm", vm.name, vm.provider), `vms[${i}].name`));

  // `{{ .Images.<x>.Path }}` and baseImage accept a name or an alias; a name wins over another image's alias.
  const imageIndex = new Map<string, number>();
  images.forEach((image) => imageIndex.set(image.name, graph.find("image", image.name) ?? -1));
  images.forEach((image) => {
    if (image.spec.alias !== undefined && !imageIndex.has(image.spec.alias)) {
      imageIndex.set(image.spec.alias, graph.find("image", image.name) ?? -1);
    }
  });

  const missing = (source: string, what: string, field: string): TestenvError => {
    const message = `${source} refers to ${what} in ${field}, which is not defined in the spec; define it or fix the reference`;
    return new TestenvError("SPEC_INVALID", message, { issues: [{ field, message }] });
  };

  const nodeName = (i: number): string => describe(graph.nodes[i] as ResourceRef);
  const targetName = (ref: TemplateRef): string => `${CATEGORY_KIND[ref.category] ?? ref.category} ${JSON.stringify(ref.name)}`;

  const targetOf = (ref: TemplateRef): number | undefined | "none" => {
    if (ref.category === "Images") return imageIndex.get(ref.name ?? "");
    const kind = CATEGORY_KIND[ref.category];
    return kind === undefined ? "none" : graph.find(kind, ref.name ?? "");
  };

  // defaultBaseImage is a VM dependency only for VMs that use it; resolve it once.
  const defaultImageDeps: Array<{ to: number; why: string }> = [];
  const defaultBaseImage = spec.defaultBaseImage;
  if (defaultBaseImage !== undefined && defaultBaseImage !== "") {
    const literal = hasTemplate(defaultBaseImage) ? undefined : imageIndex.get(defaultBaseImage);
    if (literal !== undefined) defaultImageDeps.push({ to: literal, why: "defaultBaseImage" });
    for (const ref of extractTemplateRefs(defaultBaseImage, "defaultBaseImage")) {
      const to = targetOf(ref);
      if (to === undefined) throw missing("defaultBaseImage", targetName(ref), ref.path);
      if (to !== "none") defaultImageDeps.push({ to, why: ref.path });
    }
  }

  const addTemplateEdges = (from: number, resource: unknown, base: string): boolean => {
    let usesDefaultBaseImage = false;
    for (const ref of extractTemplateRefs(resource, base)) {
      if (ref.category === "DefaultBaseImage") usesDefaultBaseImage = true;
      const to = targetOf(ref);
      if (to === undefined) throw missing(nodeName(from), targetName(ref), ref.path);
      if (to !== "none") graph.addEdge(from, to, ref.path);
    }
    return usesDefaultBaseImage;
  };
  const addDefaultImageEdges = (from: number): void => {
    for (const { to, why } of defaultImageDeps) graph.addEdge(from, to, why);
  };

  images.forEach((image, i) => {
    const from = graph.indexOf({ kind: "image", name: image.name });
    if (addTemplateEdges(from, image, `images[${i}]`)) addDefaultImageEdges(from);
  });
  keys.forEach((key, i) => {
    const from = graph.indexOf({ kind: "key", name: key.name });
    if (addTemplateEdges(from, key, `keys[${i}]`)) addDefaultImageEdges(from);
  });
  networks.forEach((network, i) => {
    const from = graph.indexOf({ kind: "network", name: network.name });
    if (addTemplateEdges(from, network, `networks[${i}]`)) addDefaultImageEdges(from);
    const attachTo = network.spec.attachTo;
    // A literal attachTo that names no spec network is an existing host bridge: nothing to wait for.
    if (attachTo !== undefined && !hasTemplate(attachTo)) {
      const to = graph.find("network", attachTo);
      if (to !== undefined) graph.addEdge(from, to, `networks[${i}].spec.attachTo`);
    }
  });
  vms.forEach((vm, i) => {
    const from = graph.indexOf({ kind: "vm", name: vm.name });
    const usesDefault = addTemplateEdges(from, vm, `vms[${i}]`);
    const field = vm.spec.networks !== undefined && vm.spec.networks.length > 0 ? "networks" : "network";
    vmNetworkNames(vm).forEach((name, n) => {
      if (hasTemplate(name)) return;
      const path = field === "networks" ? `vms[${i}].spec.networks[${n}]` : `vms[${i}].spec.network`;
      const to = graph.find("network", name);
      if (to === undefined) throw missing(nodeName(from), `network ${quoted(name)}`, path);
      graph.addEdge(from, to, path);
    });
    const baseImage = vm.spec.disk?.baseImage;
    // A container has no disk, so no base image to wait for.
    if ((vm.spec.disk !== undefined && baseImage === undefined) || usesDefault) addDefaultImageEdges(from);
    if (baseImage !== undefined && !hasTemplate(baseImage)) {
      // Anything that is not an image name or alias is a path on disk.
      const to = imageIndex.get(baseImage);
      if (to !== undefined) graph.addEdge(from, to, `vms[${i}].spec.disk.baseImage`);
    }
  });

  const dependents: number[][] = graph.nodes.map(() => []);
  graph.deps.forEach((edges, from) => {
    for (const to of edges.keys()) dependents[to]?.push(from);
  });
  const phaseIndices = layer(graph, dependents);
  const sortedRefs = (indices: Iterable<number>): ResourceRef[] =>
    [...indices].sort((a, b) => a - b).map((i) => graph.nodes[i] as ResourceRef);

  return {
    nodes: [...graph.nodes],
    dependenciesOf: (ref) => sortedRefs(graph.deps[graph.indexOf(ref)]?.keys() ?? []),
    dependentsOf: (ref) => sortedRefs(dependents[graph.indexOf(ref)] ?? []),
    phases: () => phaseIndices.map((phase) => phase.map((i) => graph.nodes[i] as ResourceRef)),
  };
}

function withProvider(kind: NodeKind, name: string, provider: string | undefined): ResourceRef {
  return provider === undefined ? { kind, name } : { kind, name, provider };
}

/** Kahn's algorithm, layer by layer; node indices already follow kind then spec order, so sorting suffices. */
function layer(graph: Graph, dependents: readonly number[][]): number[][] {
  const count = graph.nodes.length;
  const waiting = graph.deps.map((edges) => edges.size);
  const phases: number[][] = [];
  let current = waiting.flatMap((n, i) => (n === 0 ? [i] : []));
  let placed = 0;
  while (current.length > 0) {
    phases.push(current);
    placed += current.length;
    const next: number[] = [];
    for (const done of current) {
      for (const dependent of dependents[done] ?? []) {
        const left = (waiting[dependent] ?? 0) - 1;
        waiting[dependent] = left;
        if (left === 0) next.push(dependent);
      }
    }
    current = next.sort((a, b) => a - b);
  }
  if (placed < count) throw cycleError(graph, waiting);
  return phases;
}

/**
 * Every node left over by Kahn still waits for another left-over node, so following those waits from any of
 * them must come back to a node already seen: that loop is the cycle reported.
 */
const MAX_REASONS = 10;

function cycleError(graph: Graph, waiting: number[]): TestenvError {
  const stuck = (i: number): boolean => (waiting[i] ?? 0) > 0;
  const start = waiting.findIndex((n) => n > 0);
  const seenAt = new Map<number, number>();
  const path: number[] = [];
  let node = start;
  while (!seenAt.has(node)) {
    seenAt.set(node, path.length);
    path.push(node);
    const next = [...(graph.deps[node]?.keys() ?? [])].filter(stuck).sort((a, b) => a - b)[0];
    if (next === undefined) break; // cannot happen: a stuck node always waits for a stuck node
    node = next;
  }
  let cycle = path.slice(seenAt.get(node) ?? 0);
  // Start the report at the first node in spec order so the same spec always gives the same message.
  const first = cycle.indexOf(cycle.reduce((a, b) => Math.min(a, b)));
  cycle = [...cycle.slice(first), ...cycle.slice(0, first)];
  const names = [...cycle, cycle[0] ?? start].map((i) => describe(graph.nodes[i] as ResourceRef));
  const chain = names.join(" → ");
  const edges = cycle.map((from, k) => {
    const to = cycle[(k + 1) % cycle.length] ?? from;
    return { from, to, why: graph.deps[from]?.get(to) ?? "spec" };
  });
  const shown = edges
    .slice(0, MAX_REASONS)
    .map(({ from, to, why }) => `${describe(graph.nodes[from] as ResourceRef)} uses ${describe(graph.nodes[to] as ResourceRef)} in ${why}`);
  if (edges.length > MAX_REASONS) shown.push(`and ${edges.length - MAX_REASONS} more`);
  const message =
    `dependency cycle: ${chain}. ${shown.join("; ")}. ` +
    `None of them can be created first: remove or change one of these references`;
  return new TestenvError("DEPENDENCY_CYCLE", message, {
    issues: edges.map(({ to, why }) => ({
      field: why,
      message: `refers to ${describe(graph.nodes[to] as ResourceRef)}, which is part of a dependency cycle`,
    })),
    details: { cycle: cycle.map((i) => graph.nodes[i]) },
  });
}
