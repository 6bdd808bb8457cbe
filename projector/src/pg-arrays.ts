/**
 * PostgreSQL array literals for the projector's statement parameters: flat arrays of strings,
 * numbers, booleans and nulls, one per column of an `unnest`. node-postgres turns such an array
 * into the same literal, but runs two regular-expression replaces per element (every element is
 * quoted and escaped, numbers included); in a live batch that was 5–7 % of the projector's CPU,
 * and as much in a rebuild. Here a string is quoted as node-postgres quotes it (`"`, with `\` and
 * `"` escaped by a backslash), with the replaces only when it holds one of the two; a number or a
 * boolean needs no quotes (its text has no character an array literal treats specially).
 */

const quote = (s: string): string =>
  s.indexOf('\\') < 0 && s.indexOf('"') < 0 ? `"${s}"` : `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`

/**
 * The literal of a flat array of scalars, or undefined for anything else (a nested array, a
 * Buffer, an object, a Date): node-postgres then serialises it as before.
 */
export const arrayLiteral = (values: readonly unknown[]): string | undefined => {
  let out = '{'
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ','
    const v = values[i]
    switch (typeof v) {
      case 'string':
        out += quote(v)
        break
      case 'number':
      case 'bigint':
        out += String(v)
        break
      case 'boolean':
        out += v ? 'true' : 'false'
        break
      case 'undefined':
        out += 'NULL'
        break
      default:
        if (v !== null) return undefined
        out += 'NULL'
    }
  }
  return `${out}}`
}

/** The parameters with every flat array of scalars as its literal; the rest as they were. */
export const literalParams = (params: readonly unknown[]): unknown[] =>
  params.map((p) => (Array.isArray(p) ? (arrayLiteral(p) ?? p) : p))
