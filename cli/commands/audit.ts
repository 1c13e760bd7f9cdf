// `fluxo audit list`: the audit log through the API (tenant-admin: its tenant; admin: every tenant).
import type { Command } from 'commander';
import { FluxoError } from '../../common/errors.js';
import { withApiOptions, withClient, type ApiOptions } from '../api-options.js';
import type { AuditEventFilter, AuditEventsQuery, AuditEventsQueryVariables, AuditOutcome } from '../../schema/generated/operations.js';
import { formatInstant, printJson, printTable } from '../format.js';

interface AuditListOptions extends ApiOptions {
  tenant?: string;
  subject?: string;
  action?: string;
  outcome?: string;
  limit: number;
}

type AuditEvent = AuditEventsQuery['auditEvents']['nodes'][number];

const AUDIT_EVENTS = /* GraphQL */ `
  query AuditEvents($filter: AuditEventFilter, $first: Int, $after: String) {
    auditEvents(filter: $filter, first: $first, after: $after) {
      nodes { id at tenant subject role action requestId outcome code detail }
      pageInfo { endCursor hasNextPage }
    }
  }
`;

const OUTCOMES: readonly AuditOutcome[] = ['ALLOWED', 'DENIED', 'FAILED'];
const isOutcome = (value: string): value is AuditOutcome => (OUTCOMES as readonly string[]).includes(value);

function limitOf(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new FluxoError('BAD_USER_INPUT', `--limit must be a positive integer, got "${value}"`);
  return n;
}

/** Registers `fluxo audit ...`. */
export function registerAuditCommand(program: Command): void {
  const audit = program.command('audit').description('read the audit log (tenant-admin, admin)');
  withApiOptions(
    audit
      .command('list')
      .description('list audit events, newest first')
      .option('--tenant <tenant>', 'only this tenant (admins; a tenant-admin always reads its own)')
      .option('--subject <subject>', 'only this caller')
      .option('--action <action>', 'only this action, e.g. mutation.createFlowRun or proxy.authenticate')
      .option('--outcome <outcome>', `only this outcome (${OUTCOMES.join(', ')})`)
      .option('--limit <n>', 'at most this many events', limitOf, 100),
  ).action(async (options: AuditListOptions) => {
    const outcome = options.outcome?.toUpperCase();
    if (outcome !== undefined && !isOutcome(outcome)) throw new FluxoError('BAD_USER_INPUT', `--outcome must be one of ${OUTCOMES.join(', ')}`);
    const filter: AuditEventFilter = { tenant: options.tenant, subject: options.subject, action: options.action, outcome };
    await withClient(options, async (client) => {
      const found: AuditEvent[] = [];
      let after: string | null = null;
      while (found.length < options.limit) {
        const { auditEvents: page }: AuditEventsQuery = await client.request(AUDIT_EVENTS, {
          filter,
          first: Math.min(500, options.limit - found.length),
          after,
        } satisfies AuditEventsQueryVariables);
        found.push(...page.nodes);
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
      if (options.json) return printJson(found);
      printTable(
        ['AT', 'TENANT', 'SUBJECT', 'ROLE', 'ACTION', 'OUTCOME', 'CODE', 'REQUEST', 'DETAIL'],
        found.map((e) => [formatInstant(e.at), e.tenant, e.subject, e.role, e.action, e.outcome, e.code, e.requestId, e.detail]),
        'no audit events match',
      );
    });
  });
}
