// Structured logging of the agent's lifecycle: a subscriber to its events, like metrics would be.
import type { Logger } from '../common/logger.js';
import type { AgentEventEmitter, AgentEvents } from './events.js';

/**
 * Logs every agent event as one JSON line. Returns a function that unsubscribes.
 *
 * @example logAgentEvents(agent.events, createLogger('agent'))
 */
export function logAgentEvents(events: AgentEventEmitter, logger: Logger): () => void {
  const subscriptions = [
    subscribe(events, 'run:claimed', (event) => logger.info(event, 'run claimed')),
    subscribe(events, 'run:started', (event) => logger.info(event, 'run started')),
    subscribe(events, 'run:finished', (event) => {
      const level = event.reported ? (event.state === 'SUCCESS' ? 'info' : 'warn') : 'error';
      logger[level](event, event.reported ? 'run finished' : 'run dropped without a final report');
    }),
    subscribe(events, 'run:cancelling', (event) => logger.info(event, 'run cancelling')),
    subscribe(events, 'lease:lost', (event) => logger.warn(event, 'lease lost; child killed')),
    subscribe(events, 'api:unreachable', ({ operation, error, retryInMs }) => logger.warn({ operation, err: error.message, retryInMs }, 'server unreachable; retrying')),
    subscribe(events, 'spool:opened', (event) => logger.warn(event, "server not keeping up: buffering the run's states and logs on disk")),
    subscribe(events, 'spool:drained', (event) => logger.info(event, 'buffered states and logs delivered; spool removed')),
    subscribe(events, 'logs:dropped', (event) => logger.warn(event, 'spool full: log lines dropped')),
    subscribe(events, 'agent:warning', ({ message, flowRunId, error }) => logger.warn({ flowRunId, err: error?.message }, message)),
    subscribe(events, 'agent:shutdown', ({ reason, runsInterrupted, error }) =>
      (error ? logger.error.bind(logger) : logger.info.bind(logger))({ reason, runsInterrupted, err: error?.message }, 'agent stopped'),
    ),
  ];
  return () => subscriptions.forEach((unsubscribe) => unsubscribe());
}

function subscribe<K extends keyof AgentEvents>(events: AgentEventEmitter, name: K, listener: (event: AgentEvents[K]) => void): () => void {
  // The emitter's generic signatures do not narrow through a type parameter; the map above is the check.
  const untyped = events as unknown as { on(name: string, listener: (event: never) => void): void; off(name: string, listener: (event: never) => void): void };
  untyped.on(name, listener);
  return () => untyped.off(name, listener);
}
