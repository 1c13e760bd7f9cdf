// A raw graphql-transport-ws connection as a browser makes it (no library between the test and the
// wire): every message and the close, collected from the start, or the HTTP answer that refused
// the upgrade. Tests that speak graphql-ws through a real client use graphql-ws' createClient.
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { onCleanup } from './harness.js';

/** One graphql-transport-ws message. */
export interface GraphQLWsMessage {
  type: string;
  id?: string;
  payload?: unknown;
}

/** An open connection; terminated after the test. */
export interface Connection {
  socket: WebSocket;
  send(message: GraphQLWsMessage): void;
  /** The next message, in order, skipping none. */
  next(): Promise<GraphQLWsMessage>;
  closed: Promise<{ code: number; reason: string }>;
}

/** The HTTP answer to an upgrade the server (or proxy) refused. */
export interface RefusedUpgrade {
  status: number;
  body: string;
}

export type Opened = Connection | RefusedUpgrade;

/**
 * Opens a WebSocket to `url` and resolves once it is open or refused.
 *
 * @default protocols ['graphql-transport-ws']
 * @example const connection = connected(await openWebSocket(`${proxy.url.replace('http', 'ws')}/graphql`))
 */
export function openWebSocket(url: string, { headers = {}, protocols = ['graphql-transport-ws'] }: { headers?: Record<string, string>; protocols?: string[] } = {}): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, protocols, { headers });
    onCleanup(() => socket.terminate());
    const received: GraphQLWsMessage[] = [];
    const waiting: ((message: GraphQLWsMessage) => void)[] = [];
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as GraphQLWsMessage;
      const wake = waiting.shift();
      if (wake) wake(message);
      else received.push(message);
    });
    const closed = new Promise<{ code: number; reason: string }>((done) => socket.once('close', (code, reason) => done({ code, reason: reason.toString() })));
    const next = (): Promise<GraphQLWsMessage> => {
      const ready = received.shift();
      return ready === undefined ? new Promise((wake) => waiting.push(wake)) : Promise.resolve(ready);
    };
    socket.once('open', () => resolve({ socket, send: (message) => socket.send(JSON.stringify(message)), next, closed }));
    socket.once('unexpected-response', (_req, res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    socket.once('error', reject);
  });
}

/** The connection `opened` holds; fails the test with the refusal's status and body otherwise. */
export function connected(opened: Opened): Connection {
  if (!('socket' in opened)) throw new Error(`refused: ${opened.status} ${opened.body}`);
  return opened;
}
