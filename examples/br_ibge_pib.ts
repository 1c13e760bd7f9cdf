// The overview's data lifecycle, end to end, on whichever warehouse the agent is configured with
// (DuckDB on `fluxo dev`, BigQuery in production): extract open data, land it in the lake with
// year partitions, expose staging tables, materialize a partitioned production table with spatial
// SQL, run a dbt model on it, and report a figure a person can check.
//
//   fluxo run examples/br_ibge_pib.ts --lake file:///tmp/lake --warehouse duckdb:///tmp/wh.duckdb \
//     --dbt-project examples/dbt/br_ibge_pib --param dataUrl=http://127.0.0.1:8080
//
// Data (examples/data, served over HTTP by `fluxo dev`): municipal GDP 2002-2011, IBGE as published
// by Base dos Dados (MIT), and the municipalities with their coordinates, kelvins/municipios-brasileiros (MIT).
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { flow, getLogger, task } from 'fluxo';
import { UF_BY_CODE } from './ibge.js';
import { createStagingTable, dbtBuild, materializeTable, publishDataset, query, writeToLake } from 'fluxo/data';

const log = getLogger();

/** Downloads a file of the example data; answers its text. */
async function download(dataUrl: string, name: string): Promise<string> {
  const response = await fetch(`${dataUrl.replace(/\/$/, '')}/${name}`);
  if (!response.ok) throw new Error(`GET ${dataUrl}/${name} answered HTTP ${response.status}`);
  return response.text();
}

/** The GDP file as published, saved where this run may write: the lake lands the CSV itself. */
const extractGdp = task('extract-pib', { retries: 2, retryDelaySeconds: 2 }, async (dataUrl: string): Promise<string> => {
  const text = await download(dataUrl, 'pib_municipio.csv');
  const path = join(tmpdir(), `pib_municipio-${process.pid}.csv`);
  await writeFile(path, text);
  log.info('downloaded %d lines of municipal GDP', text.split('\n').length - 1);
  return path;
});

/** One row per municipality: code, name, state, whether it is the state capital, coordinates (all text, as staging keeps them). */
const extractMunicipalities = task('extract-municipios', { retries: 2, retryDelaySeconds: 2 }, async (dataUrl: string) => {
  const text = await download(dataUrl, 'municipios.json');
  const records = JSON.parse(text.replace(/^\uFEFF/, '')) as { codigo_ibge: number; nome: string; codigo_uf: number; capital: number; latitude: number; longitude: number }[];
  return records.map((r) => {
    const siglaUf = UF_BY_CODE[r.codigo_uf];
    if (!siglaUf) throw new TypeError(`${r.nome} has an unknown codigo_uf ${r.codigo_uf}`);
    return { id_municipio: String(r.codigo_ibge), nome: r.nome, sigla_uf: siglaUf, capital: r.capital === 1 ? '1' : '0', latitude: String(r.latitude), longitude: String(r.longitude) };
  });
});

/** Lake → staging: the GDP by year partition, the municipalities whole; both exposed as staging tables. */
const land = task('land', async (gdpCsv: string, municipalities: Record<string, string>[]) => {
  const gdp = await writeToLake('br_ibge_pib', 'municipio', { csv: gdpCsv }, { mode: 'overwrite-partitions', partitionColumns: ['ano'] });
  log.info('landed %d GDP rows in %d year partitions at %s', gdp.rows, gdp.partitions.length, gdp.uri);
  const places = await writeToLake('br_bd_diretorios_brasil', 'municipio', municipalities, { mode: 'overwrite' });
  log.info('landed %d municipalities at %s', places.rows, places.uri);
  await createStagingTable('br_ibge_pib', 'municipio', { onSchemaDrift: 'recreate' });
  await createStagingTable('br_bd_diretorios_brasil', 'municipio', { onSchemaDrift: 'recreate' });
});

// The production table: typed columns, each municipality's point, and its distance to its state's
// capital, partitioned by month of data_particao (one partition per year here) and clustered by state.
// DuckDB's ST_Distance_Sphere reads points as (latitude, longitude); BigQuery's ST_DISTANCE takes
// geography points (longitude, latitude). Both answer metres.
const PRODUCTION_SQL = {
  duckdb: `
    with lugar as (
      select id_municipio, nome, sigla_uf, capital = '1' as capital,
             cast(latitude as double) as latitude, cast(longitude as double) as longitude
      from br_bd_diretorios_brasil_staging.municipio
    ), capital as (select sigla_uf, latitude, longitude from lugar where capital)
    select cast(p.ano as integer) as ano, p.id_municipio, l.nome, l.sigla_uf,
           cast(p.pib as bigint) as pib, cast(p.impostos_liquidos as bigint) as impostos_liquidos,
           cast(p.va as bigint) as va, cast(p.va_agropecuaria as bigint) as va_agropecuaria,
           cast(p.va_industria as bigint) as va_industria, cast(p.va_servicos as bigint) as va_servicos,
           cast(p.va_adespss as bigint) as va_adespss,
           l.latitude, l.longitude, ST_Point(l.longitude, l.latitude) as ponto,
           ST_Distance_Sphere(ST_Point(l.latitude, l.longitude), ST_Point(c.latitude, c.longitude)) / 1000 as distancia_capital_km,
           make_date(cast(p.ano as integer), 1, 1) as data_particao
    from br_ibge_pib_staging.municipio as p
    join lugar as l using (id_municipio)
    join capital as c using (sigla_uf)`,
  bigquery: `
    with lugar as (
      select id_municipio, nome, sigla_uf, capital = '1' as capital,
             cast(latitude as float64) as latitude, cast(longitude as float64) as longitude
      from br_bd_diretorios_brasil_staging.municipio
    ), capital as (select sigla_uf, latitude, longitude from lugar where capital)
    select cast(p.ano as int64) as ano, p.id_municipio, l.nome, l.sigla_uf,
           cast(p.pib as int64) as pib, cast(p.impostos_liquidos as int64) as impostos_liquidos,
           cast(p.va as int64) as va, cast(p.va_agropecuaria as int64) as va_agropecuaria,
           cast(p.va_industria as int64) as va_industria, cast(p.va_servicos as int64) as va_servicos,
           cast(p.va_adespss as int64) as va_adespss,
           l.latitude, l.longitude, ST_GEOGPOINT(l.longitude, l.latitude) as ponto,
           ST_DISTANCE(ST_GEOGPOINT(l.longitude, l.latitude), ST_GEOGPOINT(c.longitude, c.latitude)) / 1000 as distancia_capital_km,
           DATE(cast(p.ano as int64), 1, 1) as data_particao
    from br_ibge_pib_staging.municipio as p
    join lugar as l using (id_municipio)
    join capital as c using (sigla_uf)`,
};

const materialize = task('materialize', async () => {
  const table = await materializeTable('br_ibge_pib', 'municipio', {
    sql: PRODUCTION_SQL,
    mode: 'replace-partitions',
    partitionBy: { column: 'data_particao', granularity: 'month' },
    clusterBy: ['sigla_uf'],
  });
  log.info('%s holds %d rows (%d written, partitions %s)', table.table, table.rows, table.rowsWritten, table.partitions.join(', '));
  return table.rows;
});

/**
 * The dbt model over the production table (examples/dbt/br_ibge_pib): GDP within `raioKm` of Rio
 * de Janeiro, per year. An agent without a dbt project (a machine without Python, where `fluxo dev`
 * could not install dbt) gets the same table from the model's SQL, so the example still ends.
 */
const transform = task('dbt', async (raioKm: number) => {
  try {
    const result = await dbtBuild({ select: 'pib_perto_do_rio', vars: { raio_km: raioKm } });
    log.info('dbt built %s', result.nodes.map((node) => `${node.uniqueId} (${node.status})`).join(', '));
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'DATA_NOT_CONFIGURED') throw error;
    log.warning('this agent has no dbt project (%s); building pib_perto_do_rio from its SQL instead', (error as Error).message);
    await materializeTable('br_ibge_pib', 'pib_perto_do_rio', { sql: nearRioSql(raioKm), mode: 'replace' });
  }
});

/** The model's SQL (examples/dbt/br_ibge_pib/models/pib_perto_do_rio.sql) for both warehouses. */
function nearRioSql(raioKm: number): { duckdb: string; bigquery: string } {
  const metres = Math.round(raioKm * 1000);
  return {
    duckdb: `select ano, sum(pib) as pib, count(*) as quantidade_municipios from br_ibge_pib.municipio
             where ST_Distance_Sphere(ST_Point(latitude, longitude), ST_Point(-22.9083, -43.1964)) <= ${metres}
             group by ano order by ano`,
    bigquery: `select ano, sum(pib) as pib, count(*) as quantidade_municipios from br_ibge_pib.municipio
               where ST_DISTANCE(ponto, ST_GEOGPOINT(-43.1964, -22.9083)) <= ${metres}
               group by ano order by ano`,
  };
}

const brl = new Intl.NumberFormat('pt-BR', { style: 'currency', currency: 'BRL', notation: 'compact', maximumFractionDigits: 1 });

/** The figure to check: per year, the GDP of the municipalities within the radius of Rio. */
const report = task('report', async (raioKm: number) => {
  const rows = await query('select ano, pib, quantidade_municipios from br_ibge_pib.pib_perto_do_rio order by ano');
  for (const row of rows) {
    log.info('%s: %s in %s municipalities within %d km of Rio de Janeiro', row.ano, brl.format(Number(row.pib)), row.quantidade_municipios, raioKm);
  }
  return rows;
});

export const brIbgePib = flow(
  'br-ibge-pib',
  {
    description: 'Municipal GDP 2002-2011: lake → staging → partitioned production table with distances (spatial SQL) → dbt → GDP near Rio per year',
    parameters: z.object({
      dataUrl: z.url().describe('where pib_municipio.csv and municipios.json are served (fluxo dev serves examples/data)'),
      raioKm: z.number().positive().max(1000).default(100).describe('radius around Rio de Janeiro, km'),
      publish: z.boolean().default(false).describe('publish br_ibge_pib for public read afterwards'),
    }),
  },
  async ({ dataUrl, raioKm, publish }) => {
    const [gdpCsv, municipalities] = await Promise.all([extractGdp(dataUrl), extractMunicipalities(dataUrl)]);
    await land(gdpCsv, municipalities);
    await materialize();
    await transform(raioKm);
    const rows = await report(raioKm);
    if (publish) {
      const published = await publishDataset('br_ibge_pib');
      log.info('published %s at %s', published.dataset, published.uri);
    }
    return rows;
  },
);
