// The overview's own example (extrair_dados → montar_dataframe → salvar_dados) as a fluxo flow:
// extract every Brazilian municipality from an HTTP API, build a table, save it as CSV.
//
//   fluxo run examples/municipios.ts --param url=http://127.0.0.1:8080/municipios.json
//
// Data: kelvins/municipios-brasileiros (MIT, examples/data/LICENSE.municipios-brasileiros).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { flow, getLogger, task } from 'fluxo';
import { UF_BY_CODE } from './ibge.js';

const log = getLogger();

const COLUMNS = ['codigo_ibge', 'nome', 'uf', 'codigo_uf', 'capital', 'latitude', 'longitude'] as const;

type Row = Record<(typeof COLUMNS)[number], string | number | boolean>;

/** extrair_dados: the raw JSON text, from http(s):// or file:// (a local copy of the API's file). */
const extract = task('extract', { retries: 2, retryDelaySeconds: 2, timeoutSeconds: 60 }, async (url: string): Promise<string> => {
  if (url.startsWith('file:')) return readFile(fileURLToPath(url), 'utf8');
  const response = await fetch(url, { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`GET ${url} answered HTTP ${response.status}`);
  const text = await response.text();
  log.info('downloaded %d characters from %s', text.length, url);
  return text;
});

/** montar_dataframe: one row per municipality, sorted by IBGE code. */
const buildTable = task('build-table', (text: string): Row[] => {
  // The published file starts with a UTF-8 byte-order mark, which JSON.parse rejects. fetch's
  // text() drops it; a file read (or another client) keeps it.
  const records: unknown = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  if (!Array.isArray(records)) throw new TypeError('expected a JSON array of municipalities');
  const rows = records.map((record: Record<string, unknown>, index): Row => {
    const { codigo_ibge, nome, codigo_uf, capital, latitude, longitude } = record;
    if (typeof codigo_ibge !== 'number' || typeof nome !== 'string' || typeof codigo_uf !== 'number') {
      throw new TypeError(`record ${index} lacks codigo_ibge, nome or codigo_uf: ${JSON.stringify(record)}`);
    }
    const uf = UF_BY_CODE[codigo_uf];
    if (!uf) throw new TypeError(`record ${index} (${nome}) has an unknown codigo_uf ${codigo_uf}`);
    return { codigo_ibge, nome, uf, codigo_uf, capital: capital === 1, latitude: Number(latitude), longitude: Number(longitude) };
  });
  rows.sort((a, b) => Number(a.codigo_ibge) - Number(b.codigo_ibge));
  log.info('built a table of %d rows and %d columns', rows.length, COLUMNS.length);
  return rows;
});

/** salvar_dados: RFC 4180 CSV with a header row; returns the file's path. */
const saveCsv = task('save-csv', async (rows: Row[], outputDir: string): Promise<string> => {
  await mkdir(outputDir, { recursive: true });
  const path = join(outputDir, 'municipios.csv');
  const lines = [COLUMNS.join(','), ...rows.map((row) => COLUMNS.map((column) => csvField(row[column])).join(','))];
  await writeFile(path, `${lines.join('\n')}\n`, 'utf8');
  log.info('wrote %d rows to %s', rows.length, path);
  return path;
});

function csvField(value: string | number | boolean): string {
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export const municipios = flow(
  'municipios',
  {
    description: 'Every Brazilian municipality (IBGE code, name, state, coordinates) from a JSON API to a CSV file',
    parameters: z.object({
      url: z
        .string()
        .regex(/^(https?|file):\/\//, 'must be an http(s):// or file:// URL')
        .default('https://raw.githubusercontent.com/kelvins/municipios-brasileiros/main/json/municipios.json')
        .describe('where the municipalities JSON lives'),
      outputDir: z.string().min(1).optional().describe('directory for municipios.csv (default: <tmpdir>/fluxo-examples/municipios)'),
    }),
    retries: 1,
    retryDelaySeconds: 30,
    timeoutSeconds: 300,
  },
  async ({ url, outputDir }) => {
    const text = await extract(url);
    const rows = await buildTable(text);
    return saveCsv(rows, outputDir ?? join(tmpdir(), 'fluxo-examples', 'municipios'));
  },
);
