/**
 * How a request's body is framed (RFC 9112 §6), judged from its copied headers (a repeated header
 * arrives joined with ", "): pure. A proxy in front and this server must agree on where a body
 * ends, or bytes of one request are read as the next one (request smuggling). So:
 * - `Content-Length` is one decimal number; repeats must be identical (RFC 9110 §8.6 allows
 *   refusing or collapsing them; differing ones are always an error);
 * - `Transfer-Encoding`, when present, is exactly `chunked` (the only coding uWS decodes), and
 *   never comes with a `Content-Length`.
 */
export type Framing =
  | { ok: true; length: number | undefined; chunked: boolean }
  | { ok: false; problem: string }

export const readFraming = (headers: Readonly<Record<string, string>>): Framing => {
  const length = headers['content-length']
  const coding = headers['transfer-encoding']
  if (coding !== undefined) {
    if (length !== undefined) return { ok: false, problem: 'Transfer-Encoding and Content-Length together' }
    if (!/^chunked$/i.test(coding.trim()))
      return { ok: false, problem: `unsupported Transfer-Encoding "${coding.slice(0, 40)}"` }
    return { ok: true, length: undefined, chunked: true }
  }
  if (length === undefined) return { ok: true, length: undefined, chunked: false }
  const values = length.split(',').map((v) => v.trim())
  if (!values.every((v) => /^[0-9]{1,15}$/.test(v)))
    return { ok: false, problem: 'Content-Length is not a number' }
  const n = Number(values[0])
  if (values.some((v) => Number(v) !== n)) return { ok: false, problem: 'conflicting Content-Length values' }
  return { ok: true, length: n, chunked: false }
}
