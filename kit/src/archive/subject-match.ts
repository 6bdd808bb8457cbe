/** A NATS subject filter (tokens, `*` for one token, a final `>` for the rest) as a predicate. */
export const subjectMatcher = (filter: string): ((subject: string) => boolean) => {
  const f = filter.split('.')
  return (subject) => {
    const s = subject.split('.')
    for (let i = 0; i < f.length; i++) {
      if (f[i] === '>') return s.length > i
      if (i >= s.length || (f[i] !== '*' && f[i] !== s[i])) return false
    }
    return s.length === f.length
  }
}
