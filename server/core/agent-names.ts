// Who holds an agent name. A name belongs to the token subject that first registered it; another
// subject registering it is refused (AGENT_NAME_TAKEN), and only a tenant-admin moves it
// (`moveAgent`). A move ends the agent's leases in the same transaction, and claims check the
// holder in theirs, so every live lease was handed to the subject that holds its agent now: the
// lease check of every write (token, expiry, and the HMAC binding to the caller's subject) is the
// check of who holds the agent. See docs/security.md, "Agents".
import { FluxoError } from '../../common/errors.js';

/** Longest subject a token may carry (the proxy's limit too). */
const MAX_SUBJECT_LENGTH = 256;

/**
 * The answer to an agent id the caller's subject does not hold: the same as for an id that does
 * not exist (agent ids are not secrets). An agent that gets it for its own id lost its name.
 */
export function agentNotFound(agentId: string): FluxoError {
  return new FluxoError('NOT_FOUND', `agent ${agentId} not found for this token; register it first (a tenant-admin may have moved it to another token)`);
}

/** The refusal of a registration under a name another subject holds, saying how to move it. */
export function agentNameTaken(name: string, subject: string): FluxoError {
  return new FluxoError(
    'AGENT_NAME_TAKEN',
    `agent name "${name}" is registered by another token of this tenant; start this agent with another --name, or have a tenant-admin move the name to this token: fluxo agents move ${name} --to-subject ${subject}`,
  );
}

/** Validates the subject an agent is moved to (what a token's `sub` may be). */
export function checkSubject(value: string): string {
  if (value.trim() === '' || value.length > MAX_SUBJECT_LENGTH || /[\u0000-\u001f\u007f]/.test(value)) {
    throw new FluxoError('BAD_USER_INPUT', `toSubject must be a token subject: 1 to ${MAX_SUBJECT_LENGTH} characters, not blank, no control characters`);
  }
  return value;
}
