// Pushed cancellation (PROTOCOL.md section 6a): while the agent holds runs it keeps one graphql-ws
// subscription, `leaseSignals`, and the server names each run a user asks to cancel the moment it
// becomes CANCELLING; the agent stops the child at once instead of at its next heartbeat. The
// heartbeat's `cancelling` list stays the fallback: a failed subscription is retried with backoff
// and costs nothing but latency. The subscription opens with the first run the agent holds, so an
// agent that never ran anything never loads graphql-ws and ws (idle memory).
import { FluxoError, coerceError } from '../common/errors.js';
import type { AgentApi } from './agent-api.js';
import { backoffDelay } from './backoff.js';

export interface LeaseSignalOptions {
  api: Pick<AgentApi, 'leaseSignals'>;
  agentId: string;
  /** A user asked to cancel this run (it may not be held any more, or already be cancelling). */
  onCancel: (flowRunId: string) => void;
  /** The subscription failed in transit or ended; it is opened again after `retryInMs`. */
  onUnreachable?: (error: Error, retryInMs: number) => void;
  onWarning?: (message: string, error: Error) => void;
}

/** An open (or reopening) subscription. */
export interface LeaseSignalListener {
  /** Closes the subscription and stops reopening it. */
  stop(): void;
}

/** A subscription that lasted this long counts as having worked: the next failure backs off from the start. */
const HEALTHY_AFTER_MS = 30_000;
/** Longest wait between attempts, also after refusals (a proxy or server that does not know the operation yet). */
const MAX_RETRY_MS = 60_000;

/** Opens the subscription and keeps it open, reconnecting with backoff, until `stop`. */
export function listenForLeaseSignals(options: LeaseSignalOptions): LeaseSignalListener {
  let stopped = false;
  let failures = 0;
  let close: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;

  const open = (): void => {
    if (stopped) return;
    const openedAt = performance.now();
    let ended = false;
    const retry = (error: Error): void => {
      if (ended || stopped) return;
      ended = true;
      close?.();
      close = undefined;
      if (performance.now() - openedAt >= HEALTHY_AFTER_MS) failures = 0;
      failures++;
      const retryInMs = backoffDelay(failures, { baseMs: 500, maxMs: MAX_RETRY_MS });
      // A refusal (an old server without the operation, a token the proxy refuses) is not cured by
      // retrying soon; the heartbeat reports the token refusal that stops the agent.
      if (error instanceof FluxoError) options.onWarning?.(`lease signals were refused (${error.code}); cancellations arrive with heartbeats until a retry in ${Math.round(retryInMs / 1000)} s works`, error);
      else options.onUnreachable?.(error, retryInMs);
      timer = setTimeout(() => {
        timer = undefined;
        open();
      }, retryInMs);
      timer.unref();
    };
    close = options.api.leaseSignals(options.agentId, {
      onSignal: (signal) => {
        if (signal.kind === 'CANCEL') options.onCancel(signal.flowRunId);
      },
      onError: (error) => retry(coerceError(error)),
      onComplete: () => retry(new Error('the server ended the lease-signal subscription')),
    });
  };

  open();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      close?.();
      close = undefined;
    },
  };
}
