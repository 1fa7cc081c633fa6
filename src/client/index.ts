// testenv-vm/client: what test suites import to reach the VMs of an environment.
export { Environment, RuntimeVm, openEnvironment } from "./environment.js";
export type { CreateVMOptions, EnvironmentSource, OpenEnvironmentOptions, VMSpec } from "./environment.js";
export { VmHandle } from "./vm-handle.js";
export type { ExecOptions, ExecResult, VmStopOptions, WaitReadyOptions, WriteFileOptions } from "./vm-handle.js";
export type { Conflict, LiveResource, LiveState, LiveStatus, VMDrift, VMDriftField } from "../orchestrator/live-state.js";
export type { StopMethod, VMState } from "../../api/provider.js";
export type { EnvironmentSnapshot, RestoredEnvironment } from "../orchestrator/snapshot.js";
export type { SnapshotInfo } from "../../api/snapshot.js";
export type { VmConnectionOverrides } from "./vm-target.js";
export { ExecError, ExecTimeoutError, FileTransferError, HostKeyMismatchError, SshConnectionError } from "./errors.js";
export type { SshEndpoint } from "./errors.js";
export { buildRemoteCommand, quoteShellArg, quoteShellArgs, validateEnvNames } from "./shell-command.js";
export { hostKeyFingerprint, KnownHostsStore } from "./known-hosts.js";
export { TestenvError, isTestenvError } from "../errors.js";
export type { TestenvErrorCode } from "../errors.js";
export type { TestEnvArtifact } from "../../api/forge.js";
