// The notifier: turns run events into notification deliveries and sends them. It runs on the
// leader replica only (leader-services.ts); on SQLite the one process leads.
//
// The outbox is state_transitions: a state write records its transition in its own transaction
// and never waits for a receiver. A pass (1) asks the store to turn the transitions after the
// notifier's durable cursor into PENDING deliveries, with the cursor's advance, in one transaction
// (notifications-store.ts), (2) adds LATE deliveries for scheduled runs long past their time, and
// (3) sends due deliveries, several at once, without waiting for them before the next pass. Each
// send is held (its next attempt pushed past the timeout) before it goes out, so a kill -9 mid-send
// resends it after the hold with the same delivery id: at least once, and receivers drop repeats
// by `X-Fluxo-Delivery`. Failed attempts back off (5 s, 30 s, 2 min, 10 min, 1 h), then FAILED.
import { EnvHttpProxyAgent, fetch } from 'undici';
import type { Logger } from '../../common/logger.js';
import { isFinalState } from '../../contract/states.js';
import type { EventBus } from '../core/events.js';
import { DELIVERY_HEADER, EVENT_HEADER, messageBody, runLink, signature, SIGNATURE_HEADER, type NotificationFacts } from '../core/notification-messages.js';
import { maskUrl } from '../core/notifications.js';
import type { TenantSecrets } from '../core/secrets.js';
import type { DueDelivery } from '../store/notifications-store.js';
import type { Store } from '../store/store.js';

/** Default waits between attempts; one more attempt than waits. */
export const DEFAULT_BACKOFF_MS: readonly number[] = [5_000, 30_000, 120_000, 600_000, 3_600_000];

/** Settings of {@link startNotifier}. */
export interface NotifierOptions {
  /** Opens signing secrets of WEBHOOK rules. */
  secrets: TenantSecrets;
  logger: Logger;
  /** Base of run links (`--public-url`); without it messages say there is no link. */
  publicUrl?: string | null | undefined;
  /** A SCHEDULED run this long past its time gets a LATE delivery (`--late-after-minutes`). @default 900000 */
  lateAfterMs?: number;
  /** Waits between attempts (`--notification-backoff`); attempts = waits + 1. @default DEFAULT_BACKOFF_MS */
  backoffMs?: readonly number[];
  /** Time between passes; a run that ends wakes it sooner. @default 1000 */
  intervalMs?: number;
  /** One attempt's time limit. @default 10000 */
  timeoutMs?: number;
  /** Deliveries in flight at once. @default 8 */
  concurrency?: number;
  /** PostgreSQL: how long the cursor trails (notifications-store.ts). @default 10000 */
  settleMs?: number;
}

/** The running notifier. */
export interface Notifier {
  /** Runs one pass now (tests); resolves when its enqueueing is done (sends continue). */
  pass(): Promise<void>;
  /** Stops passes and aborts sends in flight (they are resent after their hold). */
  stop(): Promise<void>;
}

/** Why an attempt failed, without the URL (a credential). */
function attemptError(error: unknown): string {
  const err = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError') return 'timed out';
  if (err?.cause?.code) return `connection failed: ${err.cause.code}`;
  return `request failed: ${(err?.cause?.message ?? err?.message ?? String(error)).slice(0, 200)}`;
}

/**
 * Starts the notifier.
 *
 * @example const notifier = startNotifier(store, events, { secrets, logger, publicUrl: 'https://fluxo.example.org' })
 */
export function startNotifier(store: Store, events: EventBus, options: NotifierOptions): Notifier {
  const { logger } = options;
  const intervalMs = options.intervalMs ?? 1_000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const concurrency = options.concurrency ?? 8;
  const backoff = options.backoffMs ?? DEFAULT_BACKOFF_MS;
  const lateAfterMs = options.lateAfterMs ?? 15 * 60_000;
  const settleMs = options.settleMs ?? 10_000;
  // A run is reported LATE within a quarter of the threshold (at most 5 s) after it is.
  const lateEveryMs = Math.min(5_000, lateAfterMs / 4);
  let lateCheckedAt = -Infinity;
  // Honours HTTPS_PROXY / NO_PROXY like the agent: servers behind a corporate proxy reach Slack too.
  const dispatcher = new EnvHttpProxyAgent();
  const aborter = new AbortController();
  const inFlight = new Set<Promise<void>>();
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;

  const facts = (d: DueDelivery): NotificationFacts => ({
    deliveryId: d.id,
    event: d.event,
    tenant: d.tenant,
    flow: d.flow,
    run: { id: d.flowRunId, state: d.runState, reason: d.reason, message: d.message, attempt: d.runAttempt, scheduledAt: d.run?.scheduledAt ?? null, endedAt: d.event === 'LATE' ? null : d.run?.endedAt ?? null },
    link: runLink(options.publicUrl, d.flowRunId),
  });

  const send = async (d: DueDelivery): Promise<void> => {
    const attempt = d.attempts + 1;
    const fail = async (error: string, final = false): Promise<void> => {
      const retryInMs = final || attempt > backoff.length ? null : backoff[attempt - 1]!;
      await store.notifications.recordAttempt(d.id, { delivered: false, error, retryInMs });
      const log = { delivery: d.id, event: d.event, run: d.flowRunId, attempt, error, target: d.rule ? maskUrl(d.rule.url) : null };
      if (retryInMs === null) logger.warn(log, 'notification delivery failed for good');
      else logger.info({ ...log, retryInMs }, 'notification delivery failed; retrying later');
    };
    if (!d.rule) return fail('the rule was deleted', true);
    const body = messageBody(d.rule.channel, facts(d));
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'fluxo-notifier', [DELIVERY_HEADER]: d.id, [EVENT_HEADER]: d.event };
    if (d.rule.signingSecret !== null) {
      let secret: string | undefined;
      try {
        secret = (await options.secrets.valuesFor(d.tenant, [d.rule.signingSecret]))[0]?.value;
      } catch (error) {
        return fail(`cannot open signing secret ${d.rule.signingSecret}: ${(error as Error).message.slice(0, 200)}`);
      }
      // Never send unsigned what the receiver expects signed: it would (rightly) refuse it.
      if (secret === undefined) return fail(`signing secret ${d.rule.signingSecret} no longer exists`);
      headers[SIGNATURE_HEADER] = signature(secret, body);
    }
    try {
      const response = await fetch(d.rule.url, {
        method: 'POST', headers, body, dispatcher, redirect: 'manual',
        signal: AbortSignal.any([aborter.signal, AbortSignal.timeout(timeoutMs)]),
      });
      await response.body?.cancel().catch(() => undefined);
      if (response.status >= 200 && response.status < 300) {
        await store.notifications.recordAttempt(d.id, { delivered: true });
        logger.debug({ delivery: d.id, event: d.event, run: d.flowRunId, attempt }, 'notification delivered');
      } else {
        await fail(`HTTP ${response.status}`);
      }
    } catch (error) {
      // Stopping: leave the attempt unrecorded; the hold expires and the next leader resends it.
      if (aborter.signal.aborted) return;
      await fail(attemptError(error));
    }
  };

  let filling: Promise<void> | null = null;
  let refill = false;
  /** Takes due deliveries into the free slots and starts sending them (not waiting for the sends). */
  const fill = async (): Promise<void> => {
    if (filling) {
      refill = true;
      return filling;
    }
    filling = (async () => {
      do {
        refill = false;
        const free = concurrency - inFlight.size;
        if (free <= 0 || stopped) return;
        const due = await store.notifications.takeDue(free, timeoutMs + 5_000);
        for (const d of due) {
          const sending: Promise<void> = send(d)
            .catch((error: unknown) => logger.warn({ delivery: d.id, err: (error as Error).message }, 'notifier: recording an attempt failed; it is retried after its hold'))
            .finally(() => {
              inFlight.delete(sending);
              // A freed slot takes the next due delivery at once, not at the next pass.
              if (!stopped) void fill().catch(() => undefined);
            });
          inFlight.add(sending);
        }
        if (due.length === free) refill = true;
      } while (refill && !stopped && inFlight.size < concurrency);
    })().finally(() => {
      filling = null;
    });
    return filling;
  };

  const passOnce = async (): Promise<void> => {
    await store.notifications.enqueueTransitions({ batchSize: 5_000, settleMs });
    // LATE looks at every waiting run of tenants with LATE rules: not at every pass.
    if (performance.now() - lateCheckedAt >= lateEveryMs) {
      lateCheckedAt = performance.now();
      await store.notifications.enqueueLate(lateAfterMs, 500);
    }
    await fill();
  };

  const pass = async (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await passOnce();
        } catch (error) {
          if (!stopped) logger.warn({ err: (error as Error).message }, 'notifier pass failed; the next interval retries');
        }
      } while (again && !stopped);
    })().finally(() => {
      running = null;
    });
    return running;
  };

  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      void pass().finally(schedule);
    }, intervalMs);
    timer.unref();
  };
  let wakeTimer: NodeJS.Timeout | null = null;
  function wake(): void {
    if (stopped || wakeTimer) return;
    // Coalesce a burst of run ends into one pass (each pass is a short write transaction).
    wakeTimer = setTimeout(() => {
      wakeTimer = null;
      void pass();
    }, 100);
    wakeTimer.unref();
  }
  const onRun = (run: { state: string }): void => {
    if (isFinalState(run.state)) wake();
  };
  events.on('run:changed', onRun);
  schedule();

  return {
    pass,
    async stop() {
      stopped = true;
      events.off('run:changed', onRun);
      if (timer) clearTimeout(timer);
      if (wakeTimer) clearTimeout(wakeTimer);
      aborter.abort();
      await running?.catch(() => undefined);
      await filling?.catch(() => undefined);
      await Promise.allSettled([...inFlight]);
      await dispatcher.close().catch(() => undefined);
    },
  };
}
