// Forwarding one authenticated HTTP request to the server.
//
// The request body is read (up to maxBodyBytes) before the server is contacted, the way nginx
// buffers request bodies by default: an oversized or abandoned upload never reaches the server,
// a slow client never holds a server connection, and a request that hits a keep-alive socket the
// server closed a moment earlier can be re-sent safely. Bodies here are GraphQL documents, so the
// limit (1 MiB by default) bounds the memory. Having the whole body also lets the proxy check the
// GraphQL operation in it (`inspect`) before the server is contacted. The response streams back
// unbuffered, so long-polls and large answers cost nothing extra.
import { request as httpRequest, type Agent, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import { httpStatusOf } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { downstreamHeaders, upstreamHeaders, type ProxyHeaderValues } from './forward-headers.js';
import { refuse, type Refusal } from './refuse.js';

/** Settings shared by every forwarded request. */
export interface HttpForwardSettings {
  /** The server's base URL; its path (if any) prefixes every request path. */
  upstream: URL;
  /** Keep-alive agent for upstream connections. */
  agent: Agent;
  /** Largest request body accepted. */
  maxBodyBytes: number;
  /** Socket inactivity allowed on an upstream request before it is abandoned (long-polls last up to 30 s). */
  upstreamTimeoutMs: number;
  logger: Logger;
}

/** What to send for one request. */
export interface ForwardTarget {
  /** Path and query to request upstream: the proxy's normalised reading of the client's, so the server routes what the proxy checked. */
  path: string;
  /** Looks at the complete body before the server is contacted; a refusal is answered instead. */
  inspect?: (body: Buffer) => Refusal | undefined;
  /** Adjusts the response headers sent to the client (the web interface's Content-Security-Policy). */
  responseHeaders?: (headers: OutgoingHttpHeaders) => void;
}

/** The outcome, for the access log. */
export interface ForwardOutcome {
  status: number;
  /** Whether the server was contacted. */
  reachedUpstream: boolean;
  /** The proxy's own refusal, when `inspect` refused the request. */
  refusal?: Refusal;
}

/** How long a refused upload may keep sending before its connection is cut. */
const DRAIN_GRACE_MS = 5_000;

/**
 * Reads the body and forwards the request; resolves when the response is finished or abandoned.
 * Never rejects: every failure becomes a coded response (413, 503) or a closed connection.
 */
export function forwardHttp(
  req: IncomingMessage,
  res: ServerResponse,
  headerValues: ProxyHeaderValues,
  settings: HttpForwardSettings,
  target: ForwardTarget,
): Promise<ForwardOutcome> {
  return new Promise((resolve) => {
    const { requestId } = headerValues;
    const tooLarge = (): void => {
      refuse(res, { code: 'PAYLOAD_TOO_LARGE', message: `the request body exceeds the limit of ${settings.maxBodyBytes} bytes` }, requestId);
      // Node discards the rest of the body so the client can read the answer; cut it off if it keeps sending.
      const timer = setTimeout(() => req.socket.destroy(), DRAIN_GRACE_MS);
      timer.unref();
      req.once('end', () => clearTimeout(timer));
      req.once('close', () => clearTimeout(timer));
      resolve({ status: 413, reachedUpstream: false });
    };

    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > settings.maxBodyBytes) {
      tooLarge();
      return;
    }

    const chunks: Buffer[] = [];
    let received = 0;
    let refused = false;
    const onData = (chunk: Buffer): void => {
      if (refused) return;
      received += chunk.byteLength;
      if (received > settings.maxBodyBytes) {
        refused = true;
        chunks.length = 0;
        tooLarge();
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('error', () => resolve({ status: 0, reachedUpstream: false }));
    req.once('end', () => {
      if (refused) return;
      const hasBody = declared !== undefined || req.headers['transfer-encoding'] !== undefined;
      const body = Buffer.concat(chunks);
      const refusal = target.inspect?.(body);
      if (refusal) {
        refuse(res, refusal, requestId);
        resolve({ status: httpStatusOf[refusal.code], reachedUpstream: false, refusal });
        return;
      }
      try {
        send(body, hasBody, 0);
      } catch (error) {
        // node:http refuses some requests synchronously; answer instead of crashing the proxy.
        settings.logger.error({ requestId, err: error }, 'cannot forward the request');
        refuse(res, { code: 'INTERNAL_SERVER_ERROR', message: `the proxy could not forward the request (request id ${requestId})` }, requestId);
        resolve({ status: 500, reachedUpstream: false });
      }
    });
    res.once('close', () => {
      // The client went away before the body was complete: nothing to forward.
      if (!req.complete) resolve({ status: 0, reachedUpstream: false });
    });

    const send = (body: Buffer, hasBody: boolean, attempt: number): void => {
      const headers = upstreamHeaders(req.headers, headerValues);
      if (hasBody) headers['content-length'] = body.byteLength;
      const upstreamRequest = httpRequest({
        protocol: settings.upstream.protocol,
        hostname: settings.upstream.hostname,
        port: settings.upstream.port,
        method: req.method,
        path: joinPath(settings.upstream, target.path),
        headers,
        agent: settings.agent,
      });
      let responded = false;
      upstreamRequest.setTimeout(settings.upstreamTimeoutMs, () => {
        upstreamRequest.destroy(Object.assign(new Error(`no answer within ${settings.upstreamTimeoutMs} ms`), { code: 'ETIMEDOUT' }));
      });
      upstreamRequest.on('response', (upstreamResponse) => {
        responded = true;
        const responseHeaders = downstreamHeaders(upstreamResponse.headers, requestId);
        target.responseHeaders?.(responseHeaders);
        res.writeHead(upstreamResponse.statusCode ?? 502, responseHeaders);
        pipeline(upstreamResponse, res, (error) => {
          if (error) settings.logger.debug({ requestId, err: error }, 'response stream ended early');
          resolve({ status: upstreamResponse.statusCode ?? 502, reachedUpstream: true });
        });
      });
      upstreamRequest.on('error', (error: NodeJS.ErrnoException) => {
        if (responded) return; // pipeline reports it
        // A keep-alive socket the server closed just before we reused it: the request was never
        // processed, so sending it once more on a fresh socket is safe (Node's documented pattern).
        if (upstreamRequest.reusedSocket && error.code === 'ECONNRESET' && attempt === 0 && !res.destroyed) {
          send(body, hasBody, attempt + 1);
          return;
        }
        if (res.destroyed) {
          resolve({ status: 0, reachedUpstream: true });
          return;
        }
        settings.logger.warn({ requestId, err: error, upstream: settings.upstream.origin }, 'upstream unavailable');
        refuse(res, { code: 'SERVICE_UNAVAILABLE', message: `the fluxo server behind this proxy is not reachable (${error.code ?? error.message}); retry shortly` }, requestId);
        resolve({ status: 503, reachedUpstream: false });
      });
      // A client that disconnects (an agent stopping mid long-poll) releases the server at once.
      res.once('close', () => {
        if (!res.writableFinished) upstreamRequest.destroy();
      });
      upstreamRequest.end(hasBody ? body : undefined);
    };
  });
}

/** The upstream path: the upstream URL's own path, if any, then the request's path and query. */
export function joinPath(upstream: URL, requestPath: string): string {
  const base = upstream.pathname.replace(/\/+$/, '');
  return `${base}${requestPath.startsWith('/') ? requestPath : `/${requestPath}`}`;
}
