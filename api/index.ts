export { OperationError, ProviderErrorCode, RETRYABLE_BY_DEFAULT } from "./errors.js";
export {
  BootDevice,
  CloudInitSpec,
  DhcpSpec,
  DnsSpec,
  Firmware,
  ForwardMode,
  ImageResource,
  ImageSpec,
  KeyResource,
  KeySpec,
  KeyType,
  NetworkResource,
  NetworkSpec,
  ProviderConfig,
  RESOURCE_KINDS,
  ReadinessSpec,
  Spec,
  TftpSpec,
  VMResource,
  VMSpec,
} from "./spec.js";
export type { ResourceKind } from "./spec.js";
export {
  CapabilitiesResponse,
  DeleteRequest,
  GetRequest,
  KeyCreateRequest,
  KeyState,
  ListRequest,
  NetworkCreateRequest,
  NetworkState,
  Operation,
  OperationResult,
  PROVIDER_TOOLS,
  OPTIONAL_PROVIDER_TOOLS,
  AvailabilityResponse,
  HealthResponse,
  HealthWarning,
  PlanRequest,
  PlanResponse,
  PlannedStep,
  PlannableTool,
  OwnedKind,
  OwnedObject,
  OwnedResponse,
  ReclaimRequest,
  ProviderVMSpec,
  ResourceCapability,
  StopMethod,
  VMCreateRequest,
  VMStartRequest,
  VMState,
  VMStopRequest,
} from "./provider.js";
export type { OptionalProviderToolName, ProviderToolName } from "./provider.js";
export {
  ConfigValidateInput,
  ConfigValidateOutput,
  CreateInput,
  DeleteInput,
  METADATA_STATE_DIR,
  METADATA_TEST_ID,
  TestEnvArtifact,
  ValidationError,
} from "./forge.js";
export {
  EnvironmentState,
  EnvironmentStatus,
  ErrorRecord,
  ExecutionPlan,
  ResourceRecord,
  ResourceRef,
  STATE_VERSION,
} from "./state.js";
export { MACHINE_TOOLS, MANIFEST_FEATURE } from "./provider.js";
export type { MachineToolName } from "./provider.js";
export {
  IsoSource,
  MachineCaptureResult,
  MachinePlanEntry,
  MachineStatusResult,
  MachineSyncResult,
  VmDefinition,
  VmManifest,
} from "./vm-manifest.js";
export { PLAN_VERSION, Plan, PlanAction, PlannedResource, Sha256 } from "./plan.js";
export { BUNDLED_PROVIDER_CONFIGS, ExitOn, Fault, LibvirtProviderConfig, PodmanProviderConfig, StubConfig } from "./provider-configs.js";
export { CONFIG_SCHEMA_FLAG, CREATES_PATH, PATH_KEYWORD, configJsonSchema } from "./config-schema.js";
