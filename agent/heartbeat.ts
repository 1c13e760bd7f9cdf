// Renewing leases (PROTOCOL.md section 6): every `intervalMs` the agent sends every lease it holds,
// and learns which runs were lost (kill them) and which a user asked to cancel. Beats never
// overlap; a beat that fails in transit is logged and the next one comes sooner.
import { TransportError } from '../client/graphql-client.js';
import { FluxoError, coerceError } from '../common/errors.js';
import type { LeaseInput } from '../schema/generated/graphql.js';
import type { AgentApi, HeartbeatAnswer } from './agent-api.js';
import { backoffDelay } from './backoff.js';
import { isTokenRefusal } from './relay.js';

export interface HeartbeatOptions {
  api: Pick<AgentApi, 'heartbeat'>;
  agentId: string;
  intervalMs: number;
  /** The leases held right now. */
  leases: () => LeaseInput[];
  onLost: (flowRunIds: string[]) => void;
  /** Leases renewed by a beat sent at `sentAt` (performance.now()), lasting `leaseSeconds` from then at most. */
  onRenewed?: (flowRunIds: string[], sentAt: number, leaseSeconds: number) => void;
  onCancelling: (flowRunIds: string[]) => void;
  onUnreachable?: (error: Error, retryInMs: number) => void;
  onWarning?: (message: string, error: Error) => void;
  /** The token was refused. */
  onFatal: (error: FluxoError) => void;
}

export interface Heartbeat {
  /** Beats now (after the one in flight), e.g. right after a claim. Resolves with the answer, or null. */
  beat(): Promise<HeartbeatAnswer | null>;
  /** Stops beating; resolves after the beat in flight. */
  stop(): Promise<void>;
}

/** Starts the heartbeat loop. The first beat goes out after `intervalMs`. */
export function startHeartbeat(options: HeartbeatOptions): Heartbeat {
  let stopped = false;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<HeartbeatAnswer | null> = Promise.resolve(null);

  const once = async (): Promise<HeartbeatAnswer | null> => {
    const leases = options.leases();
    try {
      const sentAt = performance.now();
      const answer = await options.api.heartbeat({ agentId: options.agentId, leases });
      options.onRenewed?.(answer.renewed, sentAt, answer.leaseSeconds);
      failures = 0;
      // Only runs we still hold: a run may have finished while the beat was in flight.
      const held = new Set(options.leases().map((lease) => lease.flowRunId));
      const lost = answer.lost.filter((id) => held.has(id));
      const cancelling = answer.cancelling.filter((id) => held.has(id) && !lost.includes(id));
      if (lost.length > 0) options.onLost(lost);
      if (cancelling.length > 0) options.onCancelling(cancelling);
      return answer;
    } catch (error) {
      if (error instanceof TransportError) {
        failures++;
        options.onUnreachable?.(error, nextDelay());
      } else if (error instanceof FluxoError && isTokenRefusal(error)) {
        stopped = true;
        options.onFatal(error);
      } else {
        options.onWarning?.('heartbeat refused', coerceError(error));
      }
      return null;
    }
  };

  // After a failed beat, retry sooner than the interval (with backoff), so a short outage does
  // not cost a lease; never later than the interval.
  const nextDelay = (): number => (failures === 0 ? options.intervalMs : Math.min(options.intervalMs, backoffDelay(failures, { baseMs: 500 })));

  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = undefined;
      void run().then(schedule);
    }, nextDelay());
  };

  const run = (): Promise<HeartbeatAnswer | null> => {
    inFlight = inFlight.then(once);
    return inFlight;
  };

  schedule();

  return {
    beat: () => (stopped ? Promise.resolve(null) : run()),
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      await inFlight;
    },
  };
}
