/**
 * Retries `f` while it fails only because a schema other than `own` vanished under it.
 *
 * MikroORM's migrator lists the tables of every schema of the database before it migrates one
 * (its `information_schema` query casts each table's name to a regclass). A schema another
 * process drops meanwhile — a `verify` ending, a test namespace removed, another deployment's
 * clean-up — fails that listing with `schema "x" does not exist` (or `relation "x.t" does not
 * exist`), and a service's start with it. The listing is read-only, so running it again is safe.
 * A failure naming `own`, or any other failure, is thrown at once; so is the last of `tries`.
 */
export const retryOnVanishedSchema = async <T>(f: () => Promise<T>, own: string, tries = 10): Promise<T> => {
  for (let attempt = 1; ; attempt++) {
    try {
      return await f()
    } catch (err) {
      if (attempt >= tries || !isOtherSchemaGone(err, own)) throw err
    }
  }
}

const GONE = /(?:schema|relation) "([^"]+)" does not exist/

/** The error says a schema (or a table of one) other than `own` does not exist. */
export const isOtherSchemaGone = (err: unknown, own: string): boolean => {
  const m = GONE.exec(err instanceof Error ? err.message : String(err))
  if (!m) return false
  const named = m[1]!
  return named !== own && !named.startsWith(`${own}.`)
}
