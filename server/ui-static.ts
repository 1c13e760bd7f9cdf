// The web interface's static files (dist/ui, built by `npm run build`), served without an identity:
// they hold no data, and every byte of data still comes from /graphql behind the proxy. Files are
// read once at start into memory (the build is a few hundred KiB), so no request path ever reaches
// the filesystem: a path is either a key of that map or not found.
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isUiPage, UI_ASSETS_PREFIX } from '../common/ui-paths.js';

/**
 * The Content-Security-Policy of every UI answer: scripts, styles, images and connections only from
 * the host that served the page (connections include ws:/wss: to it, CSP Level 3), nothing framed,
 * no plugins. GraphiQL's editor (CodeMirror) and React set element styles through the DOM, which
 * CSP allows; `style-src 'unsafe-inline'` is still needed for the few `style` attributes GraphiQL
 * renders as HTML.
 */
export const UI_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

interface UiFile {
  body: Buffer;
  gzip: Buffer | null;
  type: string;
  etag: string;
  /** Hashed build outputs never change under their name. */
  immutable: boolean;
}

/** The loaded build, or the reason there is none. */
export interface UiFiles {
  /** Answers a GET or HEAD of a UI path; false when `pathname` is not one it serves. */
  serve(req: IncomingMessage, res: ServerResponse, pathname: string): boolean;
  /** Number of files loaded (0 when the build is missing). */
  readonly fileCount: number;
}

/**
 * Where the build lives next to the compiled server: dist/ui beside dist/server, or the repository's
 * dist/ui when the server runs from its TypeScript sources (tests).
 */
export function defaultUiDir(): string {
  const base = dirname(dirname(fileURLToPath(import.meta.url)));
  return basename(base) === 'dist' ? join(base, 'ui') : join(base, 'dist', 'ui');
}

/** Reads every file of the build under `dir`; a missing build serves a page saying how to build it. */
export async function loadUiFiles(dir: string): Promise<UiFiles> {
  const files = new Map<string, UiFile>();
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) files.set(`/${relative(dir, path).split(sep).join('/')}`, await fileOf(path));
    }
  };
  const exists = await stat(join(dir, 'index.html')).then(
    (s) => s.isFile(),
    () => false,
  );
  if (exists) await walk(dir);

  return {
    fileCount: files.size,
    serve(req, res, pathname) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      const file = isUiPage(pathname) ? files.get('/index.html') : files.get(pathname);
      if (!file) {
        if (!isUiPage(pathname) && !pathname.startsWith(UI_ASSETS_PREFIX) && files.size > 0) return false;
        const missing = files.size === 0 ? `the web interface is not built (no ${join(dir, 'index.html')}); run \`npm run build\`` : `no file ${pathname}`;
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
        res.end(req.method === 'HEAD' ? undefined : `${missing}\n`);
        return true;
      }
      const headers: Record<string, string> = {
        'content-type': file.type,
        etag: file.etag,
        // index.html is revalidated every time so a new build's asset names are picked up at once.
        'cache-control': file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
        'content-security-policy': UI_CONTENT_SECURITY_POLICY,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'x-frame-options': 'DENY',
        vary: 'accept-encoding',
      };
      if (req.headers['if-none-match'] === file.etag) {
        res.writeHead(304, headers).end();
        return true;
      }
      const gzip = file.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
      const body = gzip ? file.gzip! : file.body;
      if (gzip) headers['content-encoding'] = 'gzip';
      headers['content-length'] = String(body.byteLength);
      res.writeHead(200, headers);
      res.end(req.method === 'HEAD' ? undefined : body);
      return true;
    },
  };
}

async function fileOf(path: string): Promise<UiFile> {
  const body = await readFile(path);
  const type = CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
  const compressible = /^(text\/|application\/json|image\/svg)/.test(type) && body.byteLength > 1024;
  return {
    body,
    gzip: compressible ? gzipSync(body, { level: 9 }) : null,
    type,
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    immutable: path.includes(`${sep}assets${sep}`),
  };
}
