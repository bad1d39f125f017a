// Streaming decompression behind a stdio FILE (glibc fopencookie), so libpcap's own
// pcap_fopen_offline reads gzip, zstd, xz and bzip2 captures directly: no temporary file, memory
// bounded by two 64 KiB buffers and the decoder's window.
#define _GNU_SOURCE
#include "ws_decompress.h"
#include <bzlib.h>
#include <errno.h>
#include <lzma.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <unistd.h>

#define WS_BUFFER (1 << 16)

typedef struct {
    FILE *raw;
    ws_compression kind;
    unsigned char in[WS_BUFFER];
    size_t in_length, in_position;
    long long raw_position;
    int raw_ended;
    int finished; // the decoder reached the end of its (last) stream
    z_stream z;
    ZSTD_DStream *zstd;
    lzma_stream xz;
    bz_stream bz;
    char error[160];
} ws_stream;

/// Streams are found again by their FILE for ws_stream_error: few are open at once.
#define WS_MAX_OPEN 64
static struct { FILE *file; ws_stream *state; } open_streams[WS_MAX_OPEN];

static const char *kind_name(ws_compression k) {
    switch (k) {
    case WS_GZIP: return "gzip";
    case WS_ZSTD: return "zstd";
    case WS_XZ: return "xz";
    case WS_BZIP2: return "bzip2";
    default: return "plain";
    }
}

ws_compression ws_compression_of(const unsigned char *h, size_t n) {
    if (n >= 2 && h[0] == 0x1f && h[1] == 0x8b) return WS_GZIP;
    if (n >= 4 && h[0] == 0x28 && h[1] == 0xb5 && h[2] == 0x2f && h[3] == 0xfd) return WS_ZSTD;
    if (n >= 6 && memcmp(h, "\xfd" "7zXZ\0", 6) == 0) return WS_XZ;
    if (n >= 3 && h[0] == 'B' && h[1] == 'Z' && h[2] == 'h') return WS_BZIP2;
    return WS_PLAIN;
}

/// Refills the input buffer when it is used up; returns whether input remains.
static int refill(ws_stream *s) {
    if (s->in_position < s->in_length) return 1;
    if (s->raw_ended) return 0;
    // read(2), not fread: a pipe gives what it has, so a slow producer is analysed as it writes.
    ssize_t n = read(fileno(s->raw), s->in, WS_BUFFER);
    s->in_position = 0;
    s->in_length = n > 0 ? (size_t)n : 0;
    if (n > 0) s->raw_position += n;
    if (n <= 0) {
        s->raw_ended = 1;
        if (n < 0) snprintf(s->error, sizeof s->error, "read error: %s", strerror(errno));
    }
    return s->in_length > 0;
}

static void fail(ws_stream *s, const char *what) {
    if (!s->error[0]) snprintf(s->error, sizeof s->error, "%s data is damaged (%s)", kind_name(s->kind), what);
}

/// One decoder step: consumes from s->in, writes into out. Returns bytes written, or -1 on damage.
static ssize_t step(ws_stream *s, unsigned char *out, size_t size) {
    const unsigned char *next = s->in + s->in_position;
    size_t avail = s->in_length - s->in_position;
    size_t produced = 0;
    switch (s->kind) {
    case WS_GZIP: {
        s->z.next_in = (Bytef *)next; s->z.avail_in = (uInt)avail;
        s->z.next_out = out; s->z.avail_out = (uInt)size;
        int rc = inflate(&s->z, Z_NO_FLUSH);
        produced = size - s->z.avail_out;
        s->in_position = s->in_length - s->z.avail_in;
        if (rc == Z_STREAM_END) {
            // gzip allows concatenated members (cat a.gz b.gz): the next one continues the file.
            if (refill(s)) inflateReset(&s->z); else s->finished = 1;
        } else if (rc != Z_OK && !(rc == Z_BUF_ERROR && produced > 0)) {
            if (rc == Z_BUF_ERROR && avail == 0) return (ssize_t)produced; // needs input
            fail(s, s->z.msg ? s->z.msg : "inflate failed");
            return -1;
        }
        break;
    }
    case WS_ZSTD: {
        ZSTD_inBuffer in = { next, avail, 0 };
        ZSTD_outBuffer o = { out, size, 0 };
        size_t rc = ZSTD_decompressStream(s->zstd, &o, &in);
        if (ZSTD_isError(rc)) { fail(s, ZSTD_getErrorName(rc)); return -1; }
        produced = o.pos;
        s->in_position += in.pos;
        // 0: a frame ended; more frames may follow (zstd concatenates too).
        s->finished = (rc == 0) ? (s->in_position == s->in_length ? 2 : 0) : 0;
        break;
    }
    case WS_XZ: {
        s->xz.next_in = next; s->xz.avail_in = avail;
        s->xz.next_out = out; s->xz.avail_out = size;
        lzma_ret rc = lzma_code(&s->xz, s->raw_ended ? LZMA_FINISH : LZMA_RUN);
        produced = size - s->xz.avail_out;
        s->in_position = s->in_length - s->xz.avail_in;
        if (rc == LZMA_STREAM_END) s->finished = 1;
        else if (rc != LZMA_OK && rc != LZMA_BUF_ERROR) {
            fail(s, rc == LZMA_DATA_ERROR ? "corrupt data" : rc == LZMA_FORMAT_ERROR ? "not xz" : "decoder error");
            return -1;
        }
        break;
    }
    case WS_BZIP2: {
        s->bz.next_in = (char *)next; s->bz.avail_in = (unsigned)avail;
        s->bz.next_out = (char *)out; s->bz.avail_out = (unsigned)size;
        int rc = BZ2_bzDecompress(&s->bz);
        produced = size - s->bz.avail_out;
        s->in_position = s->in_length - s->bz.avail_in;
        if (rc == BZ_STREAM_END) {
            // pbzip2 and `cat` write several streams; each continues the file.
            if (refill(s)) { BZ2_bzDecompressEnd(&s->bz); memset(&s->bz, 0, sizeof s->bz); BZ2_bzDecompressInit(&s->bz, 0, 0); }
            else s->finished = 1;
        } else if (rc != BZ_OK) { fail(s, "corrupt data"); return -1; }
        break;
    }
    default: {
        size_t n = avail < size ? avail : size;
        memcpy(out, next, n);
        s->in_position += n;
        produced = n;
        break;
    }
    }
    return (ssize_t)produced;
}

static ssize_t stream_read(void *cookie, char *buffer, size_t size) {
    ws_stream *s = cookie;
    if (s->error[0]) { errno = EIO; return -1; }
    size_t total = 0;
    while (total < size) {
        if (s->finished == 1) break;
        // Block for more input only when nothing is decoded yet: libpcap gets what is there.
        if (total > 0 && s->in_position >= s->in_length) break;
        int have = refill(s);
        if (!have) {
            if (s->error[0]) break;
            if (s->kind == WS_PLAIN || s->finished == 2) { s->finished = 1; break; }
            // No input left: the decoder may still hold output (and xz finishes here).
            ssize_t n = step(s, (unsigned char *)buffer + total, size - total);
            if (n < 0) break;
            total += (size_t)n;
            if (n > 0 && !s->finished) continue;
            if (!s->finished && s->finished != 2) snprintf(s->error, sizeof s->error, "%s data ends early (truncated file)", kind_name(s->kind));
            if (s->finished == 2) s->finished = 1;
            break;
        }
        ssize_t n = step(s, (unsigned char *)buffer + total, size - total);
        if (n < 0) break;
        total += (size_t)n;
    }
    if (total == 0 && s->error[0]) { errno = EIO; return -1; }
    return (ssize_t)total;
}

static int stream_close(void *cookie) {
    ws_stream *s = cookie;
    for (int i = 0; i < WS_MAX_OPEN; i++) if (open_streams[i].state == s) { open_streams[i].file = NULL; open_streams[i].state = NULL; }
    switch (s->kind) {
    case WS_GZIP: inflateEnd(&s->z); break;
    case WS_ZSTD: ZSTD_freeDStream(s->zstd); break;
    case WS_XZ: lzma_end(&s->xz); break;
    case WS_BZIP2: BZ2_bzDecompressEnd(&s->bz); break;
    default: break;
    }
    int rc = fclose(s->raw);
    free(s);
    return rc;
}

FILE *ws_open_stream(FILE *raw, ws_compression kind, const unsigned char *prefix, size_t prefix_length) {
    ws_stream *s = calloc(1, sizeof *s);
    if (!s || prefix_length > WS_BUFFER) { free(s); fclose(raw); return NULL; }
    s->raw = raw;
    s->kind = kind;
    memcpy(s->in, prefix, prefix_length);
    s->in_length = prefix_length;
    s->raw_position = (long long)prefix_length;
    int ok = 1;
    switch (kind) {
    case WS_GZIP: ok = inflateInit2(&s->z, 15 + 32) == Z_OK; break; // 32: gzip header expected
    case WS_ZSTD: s->zstd = ZSTD_createDStream(); ok = s->zstd && !ZSTD_isError(ZSTD_initDStream(s->zstd)); break;
    case WS_XZ: {
        lzma_stream init = LZMA_STREAM_INIT;
        s->xz = init;
        ok = lzma_stream_decoder(&s->xz, UINT64_MAX, LZMA_CONCATENATED) == LZMA_OK;
        break;
    }
    case WS_BZIP2: ok = BZ2_bzDecompressInit(&s->bz, 0, 0) == BZ_OK; break;
    default: break;
    }
    if (!ok) { free(s); fclose(raw); return NULL; }
    cookie_io_functions_t io = { .read = stream_read, .write = NULL, .seek = NULL, .close = stream_close };
    FILE *f = fopencookie(s, "r", io);
    if (!f) { stream_close(s); return NULL; }
    for (int i = 0; i < WS_MAX_OPEN; i++) if (!open_streams[i].file) { open_streams[i].file = f; open_streams[i].state = s; break; }
    return f;
}

const char *ws_stream_error(FILE *stream) {
    for (int i = 0; i < WS_MAX_OPEN; i++) if (open_streams[i].file == stream) return open_streams[i].state->error;
    return "";
}

long long ws_stream_position(FILE *stream) {
    for (int i = 0; i < WS_MAX_OPEN; i++)
        if (open_streams[i].file == stream) return open_streams[i].state->raw_position;
    return -1;
}
