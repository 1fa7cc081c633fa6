import { z } from "zod";

/** The 9 provider error codes of the design; they survive the wire unchanged. */
export const ProviderErrorCode = z.enum([
  "NOT_IMPLEMENTED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "INVALID_SPEC",
  "PROVIDER_ERROR",
  "TIMEOUT",
  "PERMISSION_DENIED",
  "RESOURCE_BUSY",
  "DEPENDENCY_FAILED",
]);
export type ProviderErrorCode = z.infer<typeof ProviderErrorCode>;

/** Retryable default per code (PROVIDER_ERROR "varies": the provider chooses, default false). */
export const RETRYABLE_BY_DEFAULT: Readonly<Record<ProviderErrorCode, boolean>> = {
  NOT_IMPLEMENTED: false,
  NOT_FOUND: false,
  ALREADY_EXISTS: false,
  INVALID_SPEC: false,
  PROVIDER_ERROR: false,
  TIMEOUT: true,
  PERMISSION_DENIED: false,
  RESOURCE_BUSY: true,
  DEPENDENCY_FAILED: false,
};

export const OperationError = z.object({
  code: ProviderErrorCode,
  message: z.string(),
  retryable: z.boolean(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type OperationError = z.infer<typeof OperationError>;
