import type { RecordedOwner } from "../data-dir.js";
import { METADATA_NS } from "../vm/metadata.js";
import { el, unescapeXml, type XmlElement } from "../xml.js";

// Every libvirt network we define carries its owner in <metadata>, as our domains do: gc finds a network of ours by
// it even when the data dir that recorded the network is gone. No time is written, so a plan's XML stays the same.

const TAG = "network";
const PREFIX = "testenv";

export interface NetworkMetadata extends RecordedOwner {
  version: 1;
  name: string;
}

export function networkMetadataElement(metadata: NetworkMetadata): XmlElement {
  return el(
    "metadata",
    {},
    el(`${PREFIX}:${TAG}`, { [`xmlns:${PREFIX}`]: METADATA_NS, testID: metadata.testID, prefix: metadata.prefix }, JSON.stringify(metadata)),
  );
}

const PATTERN = new RegExp(
  `<(?:[A-Za-z_][\\w.-]*:)?${TAG}\\b[^>]*xmlns(?::[\\w.-]+)?=["']${METADATA_NS.replace(/[.]/g, "\\.")}["'][^>]*>([\\s\\S]*?)</(?:[\\w.-]+:)?${TAG}>`,
);

/** Our record in a network's XML (whatever namespace prefix libvirt wrote back), when it is there and names this network. */
export function parseNetworkMetadata(networkXml: string, name: string): NetworkMetadata | undefined {
  const body = PATTERN.exec(networkXml)?.[1];
  if (body === undefined) return undefined;
  try {
    const parsed = JSON.parse(unescapeXml(body.trim())) as Partial<NetworkMetadata>;
    if (parsed.version !== 1 || parsed.name !== name) return undefined;
    const text = (value: unknown): value is string => typeof value === "string" && value !== "";
    return {
      version: 1,
      name,
      ...(text(parsed.testID) ? { testID: parsed.testID } : {}),
      ...(text(parsed.prefix) ? { prefix: parsed.prefix } : {}),
      ...(text(parsed.stateDir) ? { stateDir: parsed.stateDir } : {}),
    };
  } catch {
    return undefined;
  }
}
