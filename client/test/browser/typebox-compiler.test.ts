import { SERVER_FRAMES, TokenPair } from '@chatapp/contracts'
import { TypeCompiler as Compiled } from '@sinclair/typebox/compiler'
import t from 'tap'
import { TypeCompiler } from '../../src/browser/typebox-compiler.js'

// What the web app's bundle uses instead of TypeBox's compiler (which needs eval): same answers.
t.test('checks values exactly as the compiled checker does, without generating code', async (t) => {
  const samples: unknown[] = [
    {},
    null,
    'x',
    { type: 'pong', rid: 'k1', serverTime: 1 },
    { type: 'pong', rid: 7, serverTime: 'later' },
    {
      userId: 'u_alice0001',
      deviceId: 'd',
      accessToken: 'a',
      accessExpiresAt: 1,
      refreshToken: 'r',
      refreshExpiresAt: 2,
    },
    { userId: 'nope', deviceId: 'd' },
  ]
  for (const schema of [TokenPair, ...SERVER_FRAMES]) {
    const interpreted = TypeCompiler.Compile(schema as never)
    const compiled = Compiled.Compile(schema as never)
    for (const v of samples) {
      t.equal(interpreted.Check(v), compiled.Check(v), `${schema.$id ?? 'frame'}: ${JSON.stringify(v)}`)
      t.same(
        [...interpreted.Errors(v)].map((e) => e.path),
        [...compiled.Errors(v)].map((e) => e.path),
      )
    }
  }
})
