// What every resolver receives: the verified identity (the only source of the tenant), the
// services, and a signal that aborts when the caller hangs up.
import type { Identity } from '../../common/identity.js';
import type { Notifications } from '../core/notifications.js';
import type { TenantSecrets } from '../core/secrets.js';
import type { FluxoService } from '../core/service.js';

export interface GraphQLContext {
  identity: Identity;
  service: FluxoService;
  secrets: TenantSecrets;
  notifications: Notifications;
  requestId: string;
  signal: AbortSignal;
}
