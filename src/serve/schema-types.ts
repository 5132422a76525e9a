// Body types derived from the route schemas (schemas.ts), so a body is declared once. Covers the JSON Schema
// the routes use: object (properties, required), array (items), string, integer, number, boolean, null,
// enum, and type lists such as ["string", "null"]. Properties a schema lets through unnamed are not typed.

export type FromSchema<S> = S extends { readonly enum: readonly (infer E)[] }
  ? E
  : S extends { readonly type: infer T }
    ? FromType<S, T extends readonly (infer U)[] ? U : T>
    : unknown;

/** Distributes over a type list: ["object", "null"] gives the object or null. */
type FromType<S, T> = T extends "object"
  ? FromObject<S>
  : T extends "array"
    ? FromArray<S>
    : FromPrimitive<T>;

type FromPrimitive<T> = T extends "string"
  ? string
  : T extends "integer" | "number"
    ? number
    : T extends "boolean"
      ? boolean
      : T extends "null"
        ? null
        : never;

type FromArray<S> = S extends { readonly items: infer I } ? FromSchema<I>[] : unknown[];

type RequiredKeys<S> = S extends { readonly required: readonly (infer K)[] } ? K : never;

type FromObject<S> = S extends { readonly properties: infer P }
  ? Flatten<
      { -readonly [K in keyof P & RequiredKeys<S>]: FromSchema<P[K]> } & {
        -readonly [K in Exclude<keyof P, RequiredKeys<S>>]?: FromSchema<P[K]>;
      }
    >
  : Record<string, unknown>;

type Flatten<T> = { [K in keyof T]: T[K] };
