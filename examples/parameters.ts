// Typed parameters: a zod schema validates (and, through the CLI and the server, coerces) what a
// run receives, and the flow function gets typed values.
//
//   fluxo run examples/parameters.ts --param year=2011 --param limit=10 --param city="Niterói"
//
// Data: municipal GDP by year, IBGE as published by Base dos Dados (MIT, data/LICENSE.basedosdados),
// and municipality names from kelvins/municipios-brasileiros (MIT, data/LICENSE.municipios-brasileiros).
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { flow, getLogger, task } from 'fluxo';

const log = getLogger();

interface Municipality {
  nome: string;
  uf: number;
}

interface Gdp {
  id: number;
  pib: number;
}

/** GDP (current BRL) of every municipality in `year`. */
const readGdp = task('read-gdp', async (dataDir: string, year: number): Promise<Gdp[]> => {
  const text = await readFile(join(dataDir, 'pib_municipio.csv'), 'utf8');
  const [header = '', ...lines] = text.split(/\r?\n/);
  const columns = header.split(',');
  const [anoAt, idAt, pibAt] = ['ano', 'id_municipio', 'pib'].map((name) => columns.indexOf(name));
  if (anoAt === undefined || idAt === undefined || pibAt === undefined || [anoAt, idAt, pibAt].includes(-1)) {
    throw new Error(`pib_municipio.csv lacks ano, id_municipio or pib (header: ${header})`);
  }
  const rows: Gdp[] = [];
  for (const line of lines) {
    const fields = line.split(',');
    if (Number(fields[anoAt]) === year) rows.push({ id: Number(fields[idAt]), pib: Number(fields[pibAt]) });
  }
  log.info('%d municipalities have a GDP for %d', rows.length, year);
  return rows;
});

/** Municipality names by IBGE code (the JSON file starts with a byte-order mark). */
const readNames = task('read-names', async (dataDir: string): Promise<Map<number, Municipality>> => {
  const text = await readFile(join(dataDir, 'municipios.json'), 'utf8');
  const records = JSON.parse(text.replace(/^\uFEFF/, '')) as { codigo_ibge: number; nome: string; codigo_uf: number }[];
  return new Map(records.map((record) => [record.codigo_ibge, { nome: record.nome, uf: record.codigo_uf }]));
});

const brl = new Intl.NumberFormat('pt-BR', { style: 'currency', currency: 'BRL', notation: 'compact', maximumFractionDigits: 1 });

export const typedParameters = flow(
  'typed-parameters',
  {
    description: 'The municipalities with the highest GDP in a year, and where one city ranks',
    parameters: z.object({
      // The published sample is complete for 2002-2010; 2011 covers 1,445 municipalities only.
      year: z.int().min(2002).max(2011).default(2010).describe('year of the GDP figures (2002-2011)'),
      limit: z.int().min(1).max(100).default(5).describe('how many municipalities to list'),
      city: z.string().min(1).default('Rio de Janeiro').describe('a municipality whose rank to report'),
      dataDir: z
        .string()
        .min(1)
        .default('examples/data')
        .describe('directory holding pib_municipio.csv and municipios.json (relative to the working directory)'),
    }),
  },
  async ({ year, limit, city, dataDir }) => {
    const directory = resolve(dataDir);
    const [gdp, names] = await Promise.all([readGdp(directory, year), readNames(directory)]);
    const ranked = [...gdp].sort((a, b) => b.pib - a.pib);
    const label = (id: number): string => names.get(id)?.nome ?? String(id);

    log.info('top %d municipalities by GDP in %d:', limit, year);
    const top = ranked.slice(0, limit).map((row, index) => {
      log.info('%d. %s: %s', index + 1, label(row.id), brl.format(row.pib));
      return { rank: index + 1, id: row.id, name: label(row.id), pib: row.pib };
    });

    const wanted = city.normalize('NFC').toLocaleLowerCase('pt-BR');
    const position = ranked.findIndex((row) => label(row.id).normalize('NFC').toLocaleLowerCase('pt-BR') === wanted);
    if (position === -1) log.warning('no municipality named "%s" has a GDP for %d', city, year);
    else log.info('%s ranks #%d of %d in %d', label(ranked[position]!.id), position + 1, ranked.length, year);

    return { year, top, city: position === -1 ? null : { name: city, rank: position + 1 } };
  },
);
