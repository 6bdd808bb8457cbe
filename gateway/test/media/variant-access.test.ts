import t from 'tap'
import { mayDownload } from '../../src/media/variant-access.js'

t.test(
  'the original of a photo, video or voice note is its uploader’s; renditions and documents are for all who see it',
  async (t) => {
    for (const kind of ['image', 'video', 'audio']) {
      const media = { kind, uploaderId: 'u_ann' }
      t.ok(mayDownload(media, 'original', 'u_ann'), `${kind}: uploader, original`)
      t.notOk(mayDownload(media, 'original', 'u_bob'), `${kind}: member, original`)
      t.ok(mayDownload(media, 'thumb', 'u_bob'), `${kind}: member, rendition`)
    }
    t.ok(
      mayDownload({ kind: 'document', uploaderId: 'u_ann' }, 'original', 'u_bob'),
      'document: member, original',
    )
  },
)
