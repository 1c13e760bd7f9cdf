// Makes sure DuckDB's spatial extension for the DuckDB that @duckdb/node-api embeds is on this
// machine, and prints its path on stdout (everything else goes to stderr). Node only: a fresh
// machine has Node 20 and nothing else, so no pip, no unzip.
//
// The extension is not on npm; DuckDB publishes it on PyPI as a wheel (a zip) per DuckDB version.
// We download that wheel once, check its pinned sha256, take the one file we need out of it and
// cache it:
//   ~/.cache/fluxo/duckdb/v1.5.5/spatial.duckdb_extension          (FLUXO_CACHE_DIR, else $XDG_CACHE_HOME/fluxo, overrides ~/.cache/fluxo)
//   ~/.duckdb/extensions/v1.5.5/linux_amd64/spatial.duckdb_extension (where every DuckDB 1.5.5 on the
//     machine looks for `LOAD spatial`: the BigQuery emulator's Python DuckDB needs it there)
// The warehouse never downloads at run time: it LOADs the cached file (data/spatial.ts).
//
// Used by scripts/test.sh:
//   FLUXO_DUCKDB_SPATIAL="$(node scripts/ensure-duckdb-spatial.mjs)"; export FLUXO_DUCKDB_SPATIAL
// Offline hosts: fetch WHEEL_URL elsewhere and pass it: `node scripts/ensure-duckdb-spatial.mjs --wheel FILE.whl`
// (its sha256 is checked the same way). HTTPS_PROXY / NO_PROXY are honoured.
//
// An extension only loads into the exact DuckDB version it was built for, so the wheel is pinned
// together with @duckdb/node-api: bumping one without the other fails here, loudly.
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, inflateRawSync } from 'node:zlib';

const DUCKDB_VERSION = 'v1.5.5';
// From https://pypi.org/simple/duckdb-extension-spatial/ (the manylinux x86_64 wheel of 1.5.5).
const WHEEL_URL =
  'https://files.pythonhosted.org/packages/ae/7d/0664d97db5666b175214e89644358c4ebdec8984e6a0ef0299e5b6db8f4b/duckdb_extension_spatial-1.5.5-py3-none-manylinux2014_x86_64.whl';
const WHEEL_SHA256 = '736dbe75cd9d7f7a05d4920b02439f9d441945c81a56128911371fad2b3a5611';
// The extracted file's size: a cached file of any other size is replaced (writes are atomic, so only
// a different version or a hand-placed file could differ).
const EXTENSION_SIZE = 80908502;
const MEMBER = `duckdb_extension_spatial/extensions/${DUCKDB_VERSION}/spatial.duckdb_extension`;

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function fail(message) {
  process.stderr.write(`ensure-duckdb-spatial: ${message}\n`);
  process.exit(1);
}

function log(message) {
  process.stderr.write(`ensure-duckdb-spatial: ${message}\n`);
}

/** The DuckDB version @duckdb/node-api embeds (`1.5.5-r.5` → `v1.5.5`). */
function embeddedDuckDbVersion() {
  const file = join(root, 'node_modules', '@duckdb', 'node-api', 'package.json');
  let version;
  try {
    ({ version } = JSON.parse(readFileSync(file, 'utf8')));
  } catch (error) {
    fail(`cannot read ${file} (${error.message}); run npm ci first`);
  }
  const match = /^(\d+\.\d+\.\d+)/.exec(version ?? '');
  if (!match) fail(`unexpected @duckdb/node-api version ${JSON.stringify(version)} in ${file}`);
  return `v${match[1]}`;
}

/** Writes bytes next to `target`, then renames: a reader never sees half a file. */
function writeAtomically(target, bytes) {
  mkdirSync(dirname(target), { recursive: true });
  const temp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(temp, bytes);
    renameSync(temp, target);
  } finally {
    rmSync(temp, { force: true });
  }
}

function copyAtomically(source, target) {
  mkdirSync(dirname(target), { recursive: true });
  const temp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    copyFileSync(source, temp);
    renameSync(temp, target);
  } finally {
    rmSync(temp, { force: true });
  }
}

function sizeOf(path) {
  try {
    return statSync(path).size;
  } catch {
    return -1;
  }
}

async function download(url) {
  // Node's own fetch ignores HTTPS_PROXY; undici (a dependency of fluxo) honours it and NO_PROXY.
  let dispatcher;
  if (process.env.HTTPS_PROXY || process.env.https_proxy || process.env.HTTP_PROXY || process.env.http_proxy) {
    try {
      const { EnvHttpProxyAgent } = await import('undici');
      dispatcher = new EnvHttpProxyAgent();
    } catch {
      log('a proxy is set but undici is not installed (npm ci): trying without the proxy');
    }
  }
  let response;
  try {
    response = await fetch(url, { redirect: 'follow', dispatcher });
  } catch (error) {
    fail(
      `cannot download ${url} (${error.cause?.message ?? error.message}).\n` +
        `Offline? Fetch that file by hand on a machine with internet, copy it here, and run:\n` +
        `  node scripts/ensure-duckdb-spatial.mjs --wheel /path/to/${url.split('/').pop()}`,
    );
  }
  if (!response.ok) fail(`GET ${url} answered HTTP ${response.status}; fetch it by hand and pass it with --wheel (see the header of this script)`);
  return Buffer.from(await response.arrayBuffer());
}

/**
 * Reads one member out of a zip held in memory: the end-of-central-directory record gives the
 * central directory, whose entry for `name` gives the local header and the compressed bytes.
 * Enough for a wheel (stored or deflated members; zip64 sizes through the extra field).
 */
export function extractZipMember(zip, name) {
  const EOCD = 0x06054b50;
  let eocd = -1;
  // The record is 22 bytes plus a comment of up to 64 KiB at the very end.
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip file (no end of central directory)');
  const entries = zip.readUInt16LE(eocd + 10);
  let offset = zip.readUInt32LE(eocd + 16);
  for (let n = 0; n < entries; n++) {
    if (zip.readUInt32LE(offset) !== 0x02014b50) throw new Error(`corrupt central directory at ${offset}`);
    const method = zip.readUInt16LE(offset + 10);
    const crc = zip.readUInt32LE(offset + 16);
    let compressedSize = zip.readUInt32LE(offset + 20);
    let size = zip.readUInt32LE(offset + 24);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    let localOffset = zip.readUInt32LE(offset + 42);
    const entryName = zip.toString('utf8', offset + 46, offset + 46 + nameLength);
    if (entryName === name) {
      // Zip64: the 0xFFFFFFFF fields are in the extra field (id 1), in this order.
      let extra = offset + 46 + nameLength;
      const extraEnd = extra + extraLength;
      while (extra + 4 <= extraEnd) {
        const id = zip.readUInt16LE(extra);
        const length = zip.readUInt16LE(extra + 2);
        if (id === 1) {
          let field = extra + 4;
          if (size === 0xffffffff) (size = Number(zip.readBigUInt64LE(field))), (field += 8);
          if (compressedSize === 0xffffffff) (compressedSize = Number(zip.readBigUInt64LE(field))), (field += 8);
          if (localOffset === 0xffffffff) localOffset = Number(zip.readBigUInt64LE(field));
        }
        extra += 4 + length;
      }
      if (zip.readUInt32LE(localOffset) !== 0x04034b50) throw new Error(`corrupt local header for ${name}`);
      const dataStart = localOffset + 30 + zip.readUInt16LE(localOffset + 26) + zip.readUInt16LE(localOffset + 28);
      const raw = zip.subarray(dataStart, dataStart + compressedSize);
      let bytes;
      if (method === 0) bytes = raw;
      else if (method === 8) bytes = inflateRawSync(raw);
      else throw new Error(`${name} uses zip compression method ${method}; only stored (0) and deflate (8) are supported`);
      if (bytes.length !== size) throw new Error(`${name}: ${bytes.length} bytes extracted, the zip says ${size}`);
      if (crc32(bytes) >>> 0 !== crc) throw new Error(`${name}: CRC-32 mismatch`);
      return bytes;
    }
    offset += 46 + nameLength + extraLength + commentLength;
  }
  throw new Error(`${name} is not in the zip`);
}

async function main() {
  const embedded = embeddedDuckDbVersion();
  if (embedded !== DUCKDB_VERSION) {
    fail(
      `@duckdb/node-api embeds DuckDB ${embedded} but this script pins the spatial extension of ${DUCKDB_VERSION}; ` +
        `an extension loads only into its own DuckDB version: pin both together (see /work/shared/RECIPES.md)`,
    );
  }
  const cacheRoot = process.env.FLUXO_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'fluxo');
  const cached = join(cacheRoot, 'duckdb', DUCKDB_VERSION, 'spatial.duckdb_extension');
  const duckdbHome = join(homedir(), '.duckdb', 'extensions', DUCKDB_VERSION, 'linux_amd64', 'spatial.duckdb_extension');

  if (process.platform !== 'linux' || process.arch !== 'x64') {
    fail(`the pinned wheel is for linux x86_64, this is ${process.platform} ${process.arch}; fetch the matching wheel from https://pypi.org/simple/duckdb-extension-spatial/`);
  }

  if (sizeOf(cached) !== EXTENSION_SIZE) {
    const wheelArg = process.argv.indexOf('--wheel');
    const wheelFile = wheelArg > 0 ? process.argv[wheelArg + 1] : undefined;
    if (wheelArg > 0 && !wheelFile) fail('--wheel needs the path of the downloaded .whl file');
    let wheel;
    if (wheelFile) {
      try {
        wheel = readFileSync(wheelFile);
      } catch (error) {
        fail(`cannot read ${wheelFile}: ${error.message}`);
      }
    } else {
      log(`downloading ${WHEEL_URL}`);
      wheel = await download(WHEEL_URL);
    }
    const digest = createHash('sha256').update(wheel).digest('hex');
    if (digest !== WHEEL_SHA256) fail(`${wheelFile ?? WHEEL_URL}: sha256 ${digest}, expected ${WHEEL_SHA256} (the ${DUCKDB_VERSION} manylinux x86_64 wheel); not using it`);
    let extension;
    try {
      extension = extractZipMember(wheel, MEMBER);
    } catch (error) {
      fail(`cannot extract ${MEMBER}: ${error.message}`);
    }
    if (extension.length !== EXTENSION_SIZE) fail(`${MEMBER} has ${extension.length} bytes, expected ${EXTENSION_SIZE}`);
    writeAtomically(cached, extension);
    log(`cached ${cached} (${extension.length} bytes)`);
  }
  // The copy is refreshed whenever it differs in size (a half-copied or stale file).
  if (sizeOf(duckdbHome) !== sizeOf(cached)) {
    try {
      copyAtomically(cached, duckdbHome);
    } catch (error) {
      fail(`cannot copy ${cached} to ${duckdbHome}: ${error.message}`);
    }
  }
  process.stdout.write(`${cached}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
