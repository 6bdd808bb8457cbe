import type { Static, TSchema } from '@sinclair/typebox'
import { Value, type ValueErrorIterator } from '@sinclair/typebox/value'

/**
 * TypeBox's compiler builds its checkers with `new Function`, which a page with a strict Content
 * Security Policy (no 'unsafe-eval') may not run. The web app's bundle maps
 * `@sinclair/typebox/compiler` to this file: the same `Compile(schema).Check / .Errors` API,
 * answered by TypeBox's interpreting checker (slower, and a browser decodes few frames).
 */
export class TypeCheck<T extends TSchema> {
  constructor(private readonly schema: T) {}
  Check(value: unknown): value is Static<T> {
    return Value.Check(this.schema, value)
  }
  Errors(value: unknown): ValueErrorIterator {
    return Value.Errors(this.schema, value)
  }
}

export const TypeCompiler = {
  Compile: <T extends TSchema>(schema: T): TypeCheck<T> => new TypeCheck(schema),
}
