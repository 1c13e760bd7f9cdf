// Failures cross the process boundary as data (SerializedFailure), never as stack strings. The SDK
// copy inside a bundle throws FlowFailure; the runtime reading it may be another copy of the SDK,
// so it recognises the failure by shape (`failure` property), not by `instanceof`.
import type { SerializedFailure } from './protocol.js';

export type FailureReason = SerializedFailure['reason'];

/**
 * The error `FlowHandle.run` rejects with: `failure` says what went wrong, `cause` is the original
 * error inside this process.
 */
export class FlowFailure extends Error {
  override name = 'FlowFailure';
  readonly failure: SerializedFailure;

  constructor(failure: SerializedFailure, options: { cause?: unknown } = {}) {
    super(failure.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.failure = failure;
  }
}

/** Thrown into a flow when a task exceeds its `timeoutSeconds`. */
export class TaskTimeoutError extends Error {
  override name = 'TaskTimeoutError';
}

/** Turns anything thrown into SerializedFailure data with the given reason. */
export function serializeFailure(error: unknown, reason: FailureReason = 'exception'): SerializedFailure {
  if (error instanceof Error) {
    const failure: SerializedFailure = { type: error.name || error.constructor.name || 'Error', message: error.message, reason };
    if (error.stack) failure.stack = error.stack;
    return failure;
  }
  return { type: typeof error, message: describe(error), reason };
}

/**
 * The SerializedFailure an error carries (a FlowFailure from any copy of the SDK), or the error
 * serialized with reason `exception`.
 */
export function failureOf(error: unknown): SerializedFailure {
  const carried = (error as { failure?: unknown } | null | undefined)?.failure;
  if (isSerializedFailure(carried)) return carried;
  return serializeFailure(error);
}

function isSerializedFailure(value: unknown): value is SerializedFailure {
  if (typeof value !== 'object' || value === null) return false;
  const { type, message, reason } = value as Record<string, unknown>;
  return typeof type === 'string' && typeof message === 'string' && typeof reason === 'string';
}

function describe(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
