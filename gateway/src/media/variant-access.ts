/**
 * Which stored file of a media a user may download, once they may see the media at all (the
 * uploader, or a member where it was shared): pure.
 *
 * The `original` of a photo, video or voice note is its uploader's only. It is the file as the
 * device wrote it, with whatever the camera or recorder put in it: EXIF GPS, the `©xyz` location
 * of a phone video, titles, device names, recording times. Members get the renditions, which the
 * media worker makes without any metadata (sharp drops EXIF/XMP/ICC, ffmpeg runs with
 * `-map_metadata -1`). A document is different: it is sent to be received byte for byte (a
 * contract, or a photo sent "as a file" to keep its quality), so its original is what members
 * download, metadata included, by the sender's choice. ADR 0130.
 */
export const mayDownload = (
  media: { kind: string; uploaderId: string },
  variant: string,
  userId: string,
): boolean => variant !== 'original' || media.kind === 'document' || media.uploaderId === userId
