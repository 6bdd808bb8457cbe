import t from 'tap'
import { isViewName, VIEW_NAMES, VIEW_TABLES } from '../src/mod.js'

t.test('every rebuildable view is a table of the views schema', async (t) => {
  for (const v of VIEW_NAMES) t.equal(VIEW_TABLES[v], v)
  t.ok(isViewName('messages'))
  t.notOk(isViewName('projector_offsets'))
  t.notOk(isViewName('nope'))
})
