import t from 'tap'
import { lagNow, parsePrometheus, percentile } from '../../src/core/prometheus.js'

const TEXT = `# HELP projector_lag_events Events behind
# TYPE projector_lag_events gauge
projector_lag_events{shard="0",service="projector"} 12
projector_lag_events{shard="1"} 40
projector_lag_seconds 0.25
garbage line
nan_metric NaN
`

t.test('reads samples with their labels and skips the rest', async (t) => {
  const s = parsePrometheus(TEXT)
  t.equal(s.length, 3)
  t.same(s[0], { name: 'projector_lag_events', labels: { shard: '0', service: 'projector' }, value: 12 })
})

t.test('the lag now is the largest sample of the metric', async (t) => {
  const s = parsePrometheus(TEXT)
  t.equal(lagNow(s, 'projector_lag_events'), 40)
  t.equal(lagNow(s, 'absent'), undefined)
})

t.test('nearest-rank percentiles', async (t) => {
  t.equal(percentile([], 99), 0)
  t.equal(percentile([5, 1, 3], 50), 3)
  t.equal(
    percentile(
      Array.from({ length: 100 }, (_, i) => i + 1),
      99,
    ),
    99,
  )
})
