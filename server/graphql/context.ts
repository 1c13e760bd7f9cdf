// What every resolver receives: the verified identity (the only source of the tenant), the core
// (its single door: every operation, sub-services included, is on FluxoService), and a signal that
// aborts when the caller hangs up.
import type { Identity } from '../../common/identity.js';
import type { FluxoService } from '../core/service.js';

export interface GraphQLContext {
  identity: Identity;
  service: FluxoService;
  requestId: string;
  signal: AbortSignal;
}
