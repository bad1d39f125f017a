#ifndef WS_DECOMPRESS_H
#define WS_DECOMPRESS_H
#include <stdio.h>
#include <stddef.h>

/// What the first bytes of a file say it is.
typedef enum {
    WS_PLAIN = 0,  // not compressed (a capture, or anything else: libpcap decides)
    WS_GZIP = 1,
    WS_ZSTD = 2,
    WS_XZ = 3,
    WS_BZIP2 = 4,
} ws_compression;

/// The compression the magic bytes in `head` announce (WS_PLAIN for none).
ws_compression ws_compression_of(const unsigned char *head, size_t length);

/// A read-only stdio stream of `raw`'s bytes, decompressed on the fly when `kind` is not WS_PLAIN,
/// that first replays `prefix` (bytes already read from `raw` to sniff its magic). The stream owns
/// `raw` and closes it on fclose. NULL (and `raw` closed) when the decoder cannot start.
FILE *ws_open_stream(FILE *raw, ws_compression kind, const unsigned char *prefix, size_t prefix_length);

/// The decoder's error for a stream from ws_open_stream ("" when none): a damaged or truncated
/// compressed file ends the stream early with this message kept, so the caller can tell it from a
/// damaged capture. Valid until fclose.
const char *ws_stream_error(FILE *stream);

/// How many bytes of the underlying file a stream from ws_open_stream has read (-1: not ours).
long long ws_stream_position(FILE *stream);

#endif
