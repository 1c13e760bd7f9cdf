// One definition of "credential refused" (contract/credential-refusal.ts), checked against every code
// of the schema's ErrorCode enum: every TOKEN_* and IDENTITY_* code is classified, and the agent
// (its relay and heartbeat) and the CLI's exit code agree with the list for every code.
import { buildSchema, type GraphQLEnumType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { isTokenRefusal } from '../../agent/relay.js';
import { EXIT, exitCodeOf } from '../../client/exit-codes.js';
import { credentialRefusalCodes, isCredentialRefusal, transientIdentityCodes } from '../../contract/credential-refusal.js';
import { FluxoError, type ErrorCode } from '../../common/errors.js';
import { typeDefs } from '../../schema/generated/sdl.js';

const codes = (buildSchema(typeDefs).getType('ErrorCode') as GraphQLEnumType).getValues().map((v) => v.name as ErrorCode);
const tokenCodes = codes.filter((code) => /^(TOKEN|IDENTITY)_/.test(code));

describe('credential refusal', () => {
  it('reads the codes from the schema', () => {
    expect(tokenCodes.length).toBeGreaterThanOrEqual(17);
  });

  it.each(tokenCodes)('classifies %s as a refusal or as transient, never neither', (code) => {
    const refused = (credentialRefusalCodes as readonly string[]).includes(code);
    const transient = (transientIdentityCodes as readonly string[]).includes(code);
    expect({ code, classified: refused !== transient }).toEqual({ code, classified: true });
  });

  it('lists only codes the schema has', () => {
    expect([...credentialRefusalCodes, ...transientIdentityCodes].filter((code) => !codes.includes(code))).toEqual([]);
  });

  it.each(codes)('%s: the agent stops on it exactly when the CLI exits 3 for it', (code) => {
    const error = new FluxoError(code, 'refused');
    const refused = isCredentialRefusal(code);
    expect({ code, agentStops: isTokenRefusal(error), cliExits3: exitCodeOf(error) === EXIT.unauthorized }).toEqual({ code, agentStops: refused, cliExits3: refused });
  });

  it.each(['TOKEN_REVOKED', 'TOKEN_KIND_MISMATCH', 'TOKEN_SIGNATURE_INVALID', 'TOKEN_NOT_YET_VALID'] as const)('stops the agent on %s (the relay used to retry it forever)', (code) => {
    expect(isTokenRefusal(new FluxoError(code, 'refused'))).toBe(true);
  });

  it('does not stop the agent when the identity provider is unreachable', () => {
    expect(isTokenRefusal(new FluxoError('IDENTITY_PROVIDER_UNAVAILABLE', 'later'))).toBe(false);
    expect(exitCodeOf(new FluxoError('IDENTITY_PROVIDER_UNAVAILABLE', 'later'))).toBe(EXIT.unreachable);
  });
});
