// The order in which providers are tried when a spec names none. The user's order comes first; the engine knows
// no provider by name, so the rest keep the registry's order (bundled by name, then PATH order).

export const PROVIDER_PREFERENCE_ENV = "TESTENV_VM_PROVIDER_PREFERENCE";

/** `libvirt, podman,stub` → ["libvirt", "podman", "stub"]: provider names (the bin name without testenv-vm-provider-). */
export function providerPreference(env: NodeJS.ProcessEnv): string[] {
  const names = (env[PROVIDER_PREFERENCE_ENV] ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  return [...new Set(names)];
}

/** `items` with the preferred names first, in the preference's order; the others after, in their own order. */
export function inPreferenceOrder<T extends { name: string }>(items: readonly T[], preference: readonly string[]): T[] {
  const rank = (item: T): number => {
    const index = preference.indexOf(item.name);
    return index < 0 ? preference.length : index;
  };
  // Array.prototype.sort is stable, so equal ranks keep the registry's order.
  return [...items].sort((a, b) => rank(a) - rank(b));
}
