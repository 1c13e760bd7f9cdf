// Sends the proxy's refusals (bad tokens, wrong token kinds, rate limits) to the server's audit log
// over POST /internal/audit. Requests the proxy refuses never reach the server otherwise, so
// without this the log would miss exactly the attempts worth auditing.
//
// Events are batched (every `flushIntervalMs`, or as soon as `maxBatch` are queued) so a flood of
// refusals costs the server one insert per batch. The queue is bounded: when the server is
// unreachable for long, the oldest events are dropped and the drop is counted in a warning, rather
// than the proxy's memory growing without end.
import { PROXY_CREDENTIAL_HEADER, signProxyCredential, type ProxyAuditEvent } from '../common/identity.js';
import type { Logger } from '../common/logger.js';

export type { ProxyAuditEvent };

/** Settings of {@link createAuditForwarder}. */
export interface AuditForwarderOptions {
  /** The fluxo server's base URL. */
  upstream: URL;
  /** The secret the proxy shares with the server. */
  identitySecret: Uint8Array;
  logger: Logger;
  /** Longest an event waits before it is sent. @default 200 */
  flushIntervalMs?: number;
  /** Events per request (the server takes at most 500). @default 500 */
  maxBatch?: number;
  /** Events kept while the server cannot be reached; older ones are dropped. @default 10000 */
  maxQueue?: number;
  /** How long to wait for the server per batch. @default 5000 */
  timeoutMs?: number;
}

/** The proxy's side of the audit log. */
export interface AuditForwarder {
  /** Queues an event; never throws, never waits. */
  record(event: ProxyAuditEvent): void;
  /** Sends what is queued (one attempt per batch) and stops. */
  close(): Promise<void>;
}

/**
 * Starts forwarding the proxy's refusals to the server's audit log.
 *
 * @example
 * const audit = createAuditForwarder({ upstream, identitySecret, logger })
 * audit.record({ at: Date.now(), action: 'proxy.authenticate', requestId, outcome: 'DENIED', code: 'TOKEN_EXPIRED' })
 */
export function createAuditForwarder(options: AuditForwarderOptions): AuditForwarder {
  const { upstream, identitySecret, logger, flushIntervalMs = 200, maxBatch = 500, maxQueue = 10_000, timeoutMs = 5_000 } = options;
  if (!Number.isInteger(maxBatch) || maxBatch < 1 || maxBatch > 500) throw new TypeError('maxBatch must be an integer from 1 to 500');
  if (!Number.isInteger(maxQueue) || maxQueue < maxBatch) throw new TypeError('maxQueue must be an integer of at least maxBatch');
  const endpoint = new URL('/internal/audit', upstream);
  const queue: ProxyAuditEvent[] = [];
  let dropped = 0;
  let timer: NodeJS.Timeout | undefined;
  let sending: Promise<boolean> | undefined;
  let closed = false;

  /** Drops the oldest events beyond `maxQueue`, counting them. */
  const trim = (): void => {
    if (queue.length > maxQueue) dropped += queue.splice(0, queue.length - maxQueue).length;
  };

  /** Sends one batch; false when the server could not take it (the batch is queued again). */
  const sendBatch = async (): Promise<boolean> => {
    const batch = queue.splice(0, maxBatch);
    try {
      const response = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [PROXY_CREDENTIAL_HEADER]: await signProxyCredential(identitySecret) },
        body: JSON.stringify({ events: batch }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (response.status === 204) return true;
      const text = await response.text().catch(() => '');
      // A batch the server refuses as invalid would be refused forever: drop it, loudly.
      if (response.status === 400) {
        logger.error({ status: response.status, body: text.slice(0, 500), events: batch.length }, 'the server refused forwarded audit events; dropped them');
        return true;
      }
      throw new Error(`HTTP ${response.status} ${text.slice(0, 200)}`);
    } catch (error) {
      // Back at the front, as the oldest events: the first dropped if the queue overflows.
      queue.unshift(...batch);
      trim();
      logger.warn({ err: error, queued: queue.length }, 'could not forward audit events to the server; will retry');
      return false;
    }
  };

  const flush = (): void => {
    timer = undefined;
    if (sending || queue.length === 0) return;
    if (dropped > 0) {
      logger.warn({ dropped }, 'audit queue full: dropped the oldest proxy audit events');
      dropped = 0;
    }
    sending = sendBatch().finally(() => {
      sending = undefined;
      if (queue.length > 0 && !closed) schedule(queue.length >= maxBatch ? 0 : flushIntervalMs);
    });
  };

  const schedule = (delayMs: number): void => {
    if (timer && delayMs > 0) return;
    clearTimeout(timer);
    timer = setTimeout(flush, delayMs);
  };

  return {
    record(event) {
      if (closed) return;
      queue.push(event);
      trim();
      schedule(queue.length >= maxBatch ? 0 : flushIntervalMs);
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      timer = undefined;
      if (sending) await sending;
      while (queue.length > 0) {
        if (!(await sendBatch())) break;
      }
      if (queue.length > 0 || dropped > 0) logger.error({ lost: queue.length + dropped }, 'proxy audit events could not be forwarded before shutdown');
    },
  };
}
