import { RETRYABLE_BY_DEFAULT, type OperationError, type ProviderErrorCode } from "../../api/errors.js";

/** Thrown by provider implementations; the kit turns it into an OperationResult with the same code. */
export class ProviderError extends Error {
  override name = "ProviderError";
  readonly code: ProviderErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ProviderErrorCode, message: string, options: { retryable?: boolean; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? RETRYABLE_BY_DEFAULT[code];
    this.details = options.details;
  }

  toOperationError(): OperationError {
    return {
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

export const notFound = (kind: string, name: string): ProviderError =>
  new ProviderError("NOT_FOUND", `${kind} "${name}" not found`);
export const alreadyExists = (kind: string, name: string): ProviderError =>
  new ProviderError("ALREADY_EXISTS", `${kind} "${name}" already exists; delete it first or choose another name`);
export const busy = (kind: string, name: string, usedBy: string): ProviderError =>
  new ProviderError("RESOURCE_BUSY", `${kind} "${name}" is currently in use by ${usedBy}; delete that first`);
export const invalidSpec = (message: string, details?: Record<string, unknown>): ProviderError =>
  new ProviderError("INVALID_SPEC", message, details ? { details } : {});
