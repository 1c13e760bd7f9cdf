// data/service.ts on the production backends: a gs:// lake on fake-gcs-server and a bigquery://
// warehouse on the BigQuery emulator, both reached through the settings' google endpoints (the
// same settings readDataSettings gives an agent). External staging tables are no emulator's: the
// BigQuery warehouse's own tests assert the resources it sends; here the service's wiring is what
// is under test.
import { describe, expect, it } from 'vitest';
import { readDataSettings } from '../../data/config.js';
import type { DataRunContext, Materialization } from '../../data/contract.js';
import { createDataService } from '../../data/service.js';
import { EMULATOR_TOKEN, useBigQueryEmulator } from '../support/bigquery-emulator.js';
import { useFakeGcs } from '../support/fake-gcs.js';
import { onCleanup, tempDir } from '../support/harness.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const gcs = useFakeGcs();
const bigquery = useBigQueryEmulator({ projectId: 'fluxo-service' });

function runContext(records: Materialization[]): DataRunContext {
  return {
    flowRunId: 'run-g',
    attempt: 1,
    outputKey: 'run-g',
    taskKey: 'land#1',
    signal: new AbortController().signal,
    log: () => {},
    record: (materialization) => records.push(materialization),
  };
}

describe('the data service on Google Cloud (emulated)', () => {
  it('lands rows in the bucket and materializes and queries a partitioned BigQuery table, from settings read like an agent\'s', async () => {
    const bucket = await gcs().createBucket();
    const file = join(await tempDir('fluxo-data-google-'), 'data.json');
    await writeFile(
      file,
      JSON.stringify({
        lake: `gs://${bucket}/prod`,
        warehouse: 'bigquery://fluxo-service?location=US',
        google: { storageEndpoint: gcs().endpoint, bigqueryEndpoint: bigquery().endpoint, emulatorToken: EMULATOR_TOKEN },
      }),
    );
    const service = createDataService(readDataSettings({ dataConfigFile: file, env: {} }));
    onCleanup(() => service.close());
    const records: Materialization[] = [];
    const data = service.forRun(runContext(records));

    expect(await data.warehouseKind()).toBe('bigquery');
    const landed = await data.writeToLake('svc_google', 'vendas', { rows: [{ ano: '2010', valor: '1' }, { ano: '2011', valor: '2' }] }, { partitionColumns: ['ano'] });
    expect(landed).toMatchObject({ rows: 2, partitions: ['ano=2010', 'ano=2011'], uri: `gs://${bucket}/prod/staging/svc_google/vendas` });
    const [objects] = await gcs().storage.bucket(bucket).getFiles({ prefix: 'prod/staging/svc_google/vendas/' });
    expect(objects.map((object) => object.name).sort()).toEqual([
      expect.stringMatching(/^prod\/staging\/svc_google\/vendas\/ano=2010\/run-g_w1_a1_\d+\.parquet$/),
      expect.stringMatching(/^prod\/staging\/svc_google\/vendas\/ano=2011\/run-g_w1_a1_\d+\.parquet$/),
    ]);

    const table = await data.materializeTable('svc_google', 'resumo', {
      sql: "select 2010 as ano, date '2010-01-01' as data_particao union all select 2011, date '2011-01-01'",
      partitionBy: { column: 'data_particao', granularity: 'month' },
    });
    expect(table).toMatchObject({ table: 'svc_google.resumo', rows: 2 });
    expect(await data.query('select count(*) as n from svc_google.resumo where ano >= @desde', { desde: 2011 })).toEqual([{ n: 1 }]);
    expect(records.map((m) => `${m.kind} ${m.uri}`)).toEqual([
      `lake gs://${bucket}/prod/staging/svc_google/vendas`,
      expect.stringMatching(/^table bigquery:\/\/fluxo-service\/svc_google\.resumo/),
    ]);
  }, 120_000);
});
