// What a delivery sends: the JSON body per channel and, for generic webhooks, the signature.
// docs/operators.md#notifications documents these shapes for receivers; change both together.
import { createHmac } from 'node:crypto';
import type { NotificationChannel, NotificationEvent } from '../store/records.js';

/** Header with the delivery id: the same on every attempt, so a receiver can drop repeats. */
export const DELIVERY_HEADER = 'X-Fluxo-Delivery';
/** Header with the event (FAILED, LATE, ...). */
export const EVENT_HEADER = 'X-Fluxo-Event';
/** Header with `sha256=<hex HMAC-SHA256 of the raw body>`, keyed by the rule's signing secret. */
export const SIGNATURE_HEADER = 'X-Fluxo-Signature';

/** Everything a message says about one event. */
export interface NotificationFacts {
  deliveryId: string;
  event: NotificationEvent;
  tenant: string;
  flow: { id: string; name: string; project: string } | null;
  run: { id: string; state: string; reason: string | null; message: string | null; attempt: number; scheduledAt: number | null; endedAt: number | null };
  /** `<public-url>/runs/<run id>`, or null when the server has no public URL. */
  link: string | null;
}

/** The generic webhook body (docs/operators.md#notifications). */
export interface WebhookBody {
  id: string;
  event: NotificationEvent;
  tenant: string;
  flow: { id: string; name: string; project: string } | null;
  run: { id: string; state: string; reason: string | null; message: string | null; attempt: number; scheduledAt: string | null; endedAt: string | null };
  link: string | null;
}

/** The run page's address, or null without a public URL. */
export function runLink(publicUrl: string | null | undefined, runId: string): string | null {
  return publicUrl ? `${publicUrl.replace(/\/+$/, '')}/runs/${encodeURIComponent(runId)}` : null;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const clip = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** One line naming tenant, flow, run, state and reason, and a second with the message. */
export function summary(facts: NotificationFacts): string {
  const flow = facts.flow ? `${facts.flow.project}/${facts.flow.name}` : '(deleted flow)';
  const what = facts.event === 'LATE' ? 'is LATE' : `ended ${facts.run.state}`;
  const reason = facts.run.reason ? ` (reason: ${facts.run.reason})` : '';
  const message = facts.run.message ? `\n${clip(facts.run.message, 500)}` : '';
  const link = facts.link ?? '(no link: the server has no --public-url)';
  return `[${facts.tenant}] ${flow}: run ${facts.run.id} ${what}${reason}, attempt ${facts.run.attempt}${message}\n${link}`;
}

/** The body for `channel`, as the exact bytes to send (the signature covers these bytes). */
export function messageBody(channel: NotificationChannel, facts: NotificationFacts): string {
  switch (channel) {
    case 'WEBHOOK': {
      const body: WebhookBody = {
        id: facts.deliveryId,
        event: facts.event,
        tenant: facts.tenant,
        flow: facts.flow,
        run: { ...facts.run, scheduledAt: iso(facts.run.scheduledAt), endedAt: iso(facts.run.endedAt) },
        link: facts.link,
      };
      return JSON.stringify(body);
    }
    case 'SLACK': {
      // Slack incoming webhooks: `text` is the notification's fallback, `blocks` what is shown.
      const text = summary(facts);
      return JSON.stringify({ text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: clip(text, 3000) } }] });
    }
    case 'DISCORD': {
      // Discord webhooks: `content` at most 2000 characters; the embed links to the run.
      const color = facts.event === 'SUCCESS' ? 0x2e7d32 : facts.event === 'LATE' || facts.event === 'CANCELLED' ? 0xf9a825 : 0xc62828;
      return JSON.stringify({
        content: clip(summary(facts), 2000),
        embeds: [{
          title: clip(`${facts.flow ? `${facts.flow.project}/${facts.flow.name}` : 'run'} ${facts.event}`, 256),
          ...(facts.link ? { url: facts.link } : {}),
          color,
          fields: [
            { name: 'tenant', value: facts.tenant, inline: true },
            { name: 'state', value: facts.run.state, inline: true },
            { name: 'reason', value: facts.run.reason ?? '—', inline: true },
            { name: 'run', value: facts.run.id, inline: false },
          ],
        }],
      });
    }
  }
}

/** `sha256=<hex HMAC-SHA256 of body>` keyed by `secret`. */
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}
