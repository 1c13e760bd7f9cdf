// The parts of Standard Schema (https://standardschema.dev) and Standard JSON Schema that fluxo
// uses, copied as the spec intends. zod 4 implements both on every schema (`schema['~standard']`),
// so the SDK validates parameters and derives their JSON Schema without importing zod: a flow
// that declares no parameters bundles no zod at all.

/** A schema that validates (Standard Schema v1) and converts itself to JSON Schema. */
export interface ParameterSchema<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
    /** Standard JSON Schema converter (zod >= 4.2, valibot, arktype). */
    readonly jsonSchema?: { readonly input: (options: { readonly target: string }) => Record<string, unknown> } | undefined;
  };
}

export type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<StandardIssue> };

export interface StandardIssue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
}

/** The validated parameter type of a schema (zod's `z.output`). */
export type OutputOf<S> = S extends ParameterSchema<unknown, infer O> ? O : never;

/** The accepted parameter type of a schema (zod's `z.input`: defaults may be omitted). */
export type InputOf<S> = S extends ParameterSchema<infer I, unknown> ? I : never;

/** `year: Too big: expected number to be <=2011` */
export function describeIssue(issue: StandardIssue): string {
  const path = (issue.path ?? []).map((segment) => String(typeof segment === 'object' ? segment.key : segment)).join('.');
  return path ? `${path}: ${issue.message}` : issue.message;
}
