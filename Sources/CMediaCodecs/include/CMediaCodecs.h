/*
 * CMediaCodecs: thin C shims over libpng, libjpeg(-turbo) and libwebp.
 *
 * libpng and libjpeg report errors by longjmp, which Swift cannot catch; these wrappers contain
 * the setjmp/longjmp inside C and turn every failure into a return code plus a message. No
 * function aborts on corrupt or truncated input. Buffers handed out are malloc'd and released with
 * loom_image_free / loom_buffer_free.
 */
#ifndef LOOM_CMEDIACODECS_H
#define LOOM_CMEDIACODECS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Return codes. */
#define LOOM_OK 0
#define LOOM_ERR_INVALID 1   /* corrupt, truncated or unsupported data */
#define LOOM_ERR_TOO_LARGE 2 /* dimensions over the caller's pixel limit */
#define LOOM_ERR_NOMEM 3     /* allocation failed */
#define LOOM_ERR_ARGUMENT 4  /* bad arguments from the caller */

/* Where an image's alpha came from (PNG distinguishes the cases; Pillow only keeps the first two). */
#define LOOM_ALPHA_NONE 0    /* opaque: alpha filled with the maximum */
#define LOOM_ALPHA_CHANNEL 1 /* a real alpha channel (RGBA, LA, WEBP alpha) */
#define LOOM_ALPHA_PALETTE 2 /* palette image with a tRNS chunk */
#define LOOM_ALPHA_COLORKEY 3 /* gray/RGB image with a tRNS colour key */

/* A decoded image: frame_count frames of height*width*channels samples each, stored one after another.
 * Samples are uint8, or native-endian uint16 when bytes_per_sample is 2. */
typedef struct loom_image {
    uint32_t width;
    uint32_t height;
    uint32_t channels;         /* 3 (RGB) or 4 (RGBA) */
    uint32_t bytes_per_sample; /* 1 or 2 */
    int32_t alpha_source;      /* LOOM_ALPHA_* */
    uint32_t frame_count;
    int32_t *durations_ms;     /* per frame for animations, else NULL */
    uint8_t *pixels;
    size_t pixels_size;
    /* PNG text chunks (tEXt, zTXt, iTXt) as "key\0value\0" pairs; values of iTXt are UTF-8. */
    char *text;
    size_t text_size;
    uint32_t text_count;
    uint32_t loop_count;       /* animated WEBP loop count (0 = forever) */
} loom_image;

/* An encoded file. */
typedef struct loom_buffer {
    uint8_t *data;
    size_t size;
} loom_buffer;

/* Decoders. max_pixels bounds width*height*frames before anything large is allocated.
 * err receives a NUL-terminated message (errlen bytes at most). */

/* Any PNG (palette, gray, gray+alpha, RGB, RGBA; 1-16 bits; interlaced) -> RGBA, 8 or 16 bit
 * (keep_16bit = 0 reduces 16-bit files to 8 bit by taking the high byte). Reads text chunks. */
int loom_png_decode(const uint8_t *data, size_t size, uint64_t max_pixels, int keep_16bit,
                    loom_image *out, char *err, size_t errlen);

/* JPEG (gray, YCbCr, CMYK/YCCK) -> RGB8. apply_orientation != 0 applies the EXIF orientation. */
int loom_jpeg_decode(const uint8_t *data, size_t size, uint64_t max_pixels, int apply_orientation,
                     loom_image *out, char *err, size_t errlen);

/* WEBP still (-> RGB8, or RGBA8 when it has alpha) or animated (-> RGBA8 canvas frames). */
int loom_webp_decode(const uint8_t *data, size_t size, uint64_t max_pixels,
                     loom_image *out, char *err, size_t errlen);

void loom_image_free(loom_image *image);

/* Encoders. pixels: height*width*channels uint8 samples, channels 3 or 4 (or 1 for PNG/JPEG gray). */

/* PNG; compress_level 0-9; text chunks written before IDAT as tEXt (iTXt when a value is not ASCII). */
int loom_png_encode(const uint8_t *pixels, uint32_t width, uint32_t height, uint32_t channels,
                    int compress_level, const char *const *keys, const char *const *values, size_t text_count,
                    loom_buffer *out, char *err, size_t errlen);

/* JPEG baseline with 4:2:0 subsampling; quality 1-100. An alpha channel is dropped. */
int loom_jpeg_encode(const uint8_t *pixels, uint32_t width, uint32_t height, uint32_t channels, int quality,
                     loom_buffer *out, char *err, size_t errlen);

/* WEBP; quality 0-100 (lossy) or lossless != 0. */
int loom_webp_encode(const uint8_t *pixels, uint32_t width, uint32_t height, uint32_t channels, float quality,
                     int lossless, loom_buffer *out, char *err, size_t errlen);

/* Animated WEBP from frame_count RGBA8 frames (height*width*4 bytes each, consecutive);
 * durations_ms per frame; loop_count 0 = forever; method 0-6 (libwebp effort). */
int loom_webp_anim_encode(const uint8_t *frames, uint32_t width, uint32_t height, uint32_t frame_count,
                          const int32_t *durations_ms, uint32_t loop_count, float quality, int lossless, int method,
                          loom_buffer *out, char *err, size_t errlen);

/* Streaming animated WEBP encoder: create, add frames one at a time (each is encoded at once, so no
 * copy of all frames is kept), finish, free. */
typedef struct loom_webp_anim_writer loom_webp_anim_writer;

/* loop_count 0 = forever (at most 65535); quality 0-100 (lossy) or lossless != 0; method 0-6. */
int loom_webp_anim_writer_new(uint32_t width, uint32_t height, uint32_t loop_count, float quality, int lossless,
                              int method, loom_webp_anim_writer **out, char *err, size_t errlen);

/* pixels: height*width*channels uint8 samples, channels 3 or 4; durations under 1 ms count as 1 ms. */
int loom_webp_anim_writer_add(loom_webp_anim_writer *writer, const uint8_t *pixels, uint32_t channels,
                              int32_t duration_ms, char *err, size_t errlen);

/* Assembles the file; exif (exif_size bytes, may be NULL/0) becomes its EXIF chunk. The writer takes no
 * more frames afterwards but must still be freed. */
int loom_webp_anim_writer_finish(loom_webp_anim_writer *writer, const uint8_t *exif, size_t exif_size,
                                 loom_buffer *out, char *err, size_t errlen);

void loom_webp_anim_writer_free(loom_webp_anim_writer *writer);

void loom_buffer_free(loom_buffer *buffer);

#ifdef __cplusplus
}
#endif

#endif
