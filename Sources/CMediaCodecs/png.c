/* PNG decode/encode over libpng with setjmp-contained error handling. */
#include "common.h"

#include <png.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t pos;
} png_mem_reader;

typedef struct {
    char *err;
    size_t errlen;
} png_err_ctx;

static void loom_png_read(png_structp png, png_bytep out, png_size_t len) {
    png_mem_reader *r = (png_mem_reader *)png_get_io_ptr(png);
    if (len > r->size - r->pos) png_error(png, "truncated PNG data");
    memcpy(out, r->data + r->pos, len);
    r->pos += len;
}

static void loom_png_error(png_structp png, png_const_charp msg) {
    png_err_ctx *ctx = (png_err_ctx *)png_get_error_ptr(png);
    loom_set_error(ctx->err, ctx->errlen, "PNG: %s", msg);
    png_longjmp(png, 1);
}

static void loom_png_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

/* Packs the text chunks as "key\0value\0" pairs. Returns 0 on allocation failure. */
static int collect_text(png_structp png, png_infop info, loom_image *out) {
    png_textp text = NULL;
    int count = 0;
    png_get_text(png, info, &text, &count);
    if (count <= 0) return 1;
    size_t total = 0;
    for (int i = 0; i < count; i++) {
        size_t len = text[i].compression >= PNG_ITXT_COMPRESSION_NONE ? text[i].itxt_length : text[i].text_length;
        total += strlen(text[i].key) + 1 + len + 1;
    }
    char *buf = malloc(total);
    if (buf == NULL) return 0;
    size_t pos = 0;
    for (int i = 0; i < count; i++) {
        size_t klen = strlen(text[i].key);
        size_t len = text[i].compression >= PNG_ITXT_COMPRESSION_NONE ? text[i].itxt_length : text[i].text_length;
        memcpy(buf + pos, text[i].key, klen + 1);
        pos += klen + 1;
        if (len > 0 && text[i].text != NULL) memcpy(buf + pos, text[i].text, len);
        pos += len;
        buf[pos++] = 0;
    }
    out->text = buf;
    out->text_size = total;
    out->text_count = (uint32_t)count;
    return 1;
}

int loom_png_decode(const uint8_t *data, size_t size, uint64_t max_pixels, int keep_16bit,
                    loom_image *out, char *err, size_t errlen) {
    if (out == NULL || (data == NULL && size > 0)) return LOOM_ERR_ARGUMENT;
    memset(out, 0, sizeof(*out));
    if (size < 8 || png_sig_cmp((png_const_bytep)data, 0, 8) != 0) {
        loom_set_error(err, errlen, "PNG: not a PNG file");
        return LOOM_ERR_INVALID;
    }
    png_err_ctx ctx = {err, errlen};
    png_mem_reader reader = {data, size, 0};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, loom_png_error, loom_png_warning);
    if (png == NULL) return LOOM_ERR_NOMEM;
    png_infop info = png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_read_struct(&png, NULL, NULL);
        return LOOM_ERR_NOMEM;
    }
    uint8_t *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    volatile int rc = LOOM_ERR_INVALID;

    if (setjmp(png_jmpbuf(png))) {
        free(pixels);
        free(rows);
        loom_image_free(out);
        png_destroy_read_struct(&png, &info, NULL);
        return rc;
    }
    png_set_read_fn(png, &reader, loom_png_read);
    png_set_user_limits(png, LOOM_MAX_EDGE, LOOM_MAX_EDGE);
    png_set_chunk_malloc_max(png, (png_alloc_size_t)256 << 20);
    png_read_info(png, info);

    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(png, info, &width, &height, &bit_depth, &color_type, &interlace, NULL, NULL);
    int size_rc = loom_check_size(width, height, 1, max_pixels, err, errlen);
    if (size_rc != LOOM_OK) {
        rc = size_rc;
        png_longjmp(png, 1);
    }
    int has_trns = png_get_valid(png, info, PNG_INFO_tRNS) != 0;
    int alpha = LOOM_ALPHA_NONE;
    if (color_type & PNG_COLOR_MASK_ALPHA) alpha = LOOM_ALPHA_CHANNEL;
    else if (has_trns) alpha = color_type == PNG_COLOR_TYPE_PALETTE ? LOOM_ALPHA_PALETTE : LOOM_ALPHA_COLORKEY;

    int sixteen = bit_depth == 16 && keep_16bit;
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if ((color_type & PNG_COLOR_MASK_COLOR) == 0 && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (has_trns) png_set_tRNS_to_alpha(png);
    if (bit_depth == 16 && !keep_16bit) png_set_strip_16(png);
    if ((color_type & PNG_COLOR_MASK_COLOR) == 0) png_set_gray_to_rgb(png);
    if (alpha == LOOM_ALPHA_NONE) png_set_filler(png, sixteen ? 0xFFFF : 0xFF, PNG_FILLER_AFTER);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (sixteen) png_set_swap(png);
#endif
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    size_t bps = sixteen ? 2 : 1;
    size_t row_bytes = (size_t)width * 4 * bps;
    if (png_get_rowbytes(png, info) != row_bytes) png_error(png, "unexpected row size after transforms");
    pixels = malloc(row_bytes * height);
    rows = malloc(sizeof(png_bytep) * height);
    if (pixels == NULL || rows == NULL) {
        rc = LOOM_ERR_NOMEM;
        loom_set_error(err, errlen, "PNG: out of memory for %ux%u image", (unsigned)width, (unsigned)height);
        png_longjmp(png, 1);
    }
    for (png_uint_32 y = 0; y < height; y++) rows[y] = pixels + (size_t)y * row_bytes;
    png_read_image(png, rows);
    png_read_end(png, info);
    if (!collect_text(png, info, out)) {
        rc = LOOM_ERR_NOMEM;
        png_longjmp(png, 1);
    }

    out->width = width;
    out->height = height;
    out->channels = 4;
    out->bytes_per_sample = (uint32_t)bps;
    out->alpha_source = alpha;
    out->frame_count = 1;
    out->pixels = pixels;
    out->pixels_size = row_bytes * height;
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    return LOOM_OK;
}

typedef struct {
    loom_buffer buffer;
    size_t capacity;
    int failed;
} png_mem_writer;

static void loom_png_write(png_structp png, png_bytep bytes, png_size_t len) {
    png_mem_writer *w = (png_mem_writer *)png_get_io_ptr(png);
    if (!loom_buffer_append(&w->buffer, &w->capacity, bytes, len)) {
        w->failed = 1;
        png_error(png, "out of memory");
    }
}

static void loom_png_flush(png_structp png) { (void)png; }

static int is_ascii(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80) return 0;
    return 1;
}

int loom_png_encode(const uint8_t *pixels, uint32_t width, uint32_t height, uint32_t channels,
                    int compress_level, const char *const *keys, const char *const *values, size_t text_count,
                    loom_buffer *out, char *err, size_t errlen) {
    if (out == NULL) return LOOM_ERR_ARGUMENT;
    out->data = NULL;
    out->size = 0;
    if (pixels == NULL || channels < 1 || channels > 4 || (text_count > 0 && (keys == NULL || values == NULL))) {
        loom_set_error(err, errlen, "PNG: invalid arguments");
        return LOOM_ERR_ARGUMENT;
    }
    int size_rc = loom_check_size(width, height, 1, (uint64_t)LOOM_MAX_EDGE * LOOM_MAX_EDGE, err, errlen);
    if (size_rc != LOOM_OK) return size_rc;
    const int level = compress_level < 0 ? 0 : (compress_level > 9 ? 9 : compress_level);

    png_err_ctx ctx = {err, errlen};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, loom_png_error, loom_png_warning);
    if (png == NULL) return LOOM_ERR_NOMEM;
    png_infop info = png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_write_struct(&png, NULL);
        return LOOM_ERR_NOMEM;
    }
    png_mem_writer writer = {{NULL, 0}, 0, 0};
    png_textp volatile text = NULL;
    if (setjmp(png_jmpbuf(png))) {
        free(text);
        free(writer.buffer.data);
        png_destroy_write_struct(&png, &info);
        return writer.failed ? LOOM_ERR_NOMEM : LOOM_ERR_INVALID;
    }
    png_set_write_fn(png, &writer, loom_png_write, loom_png_flush);
    png_set_compression_level(png, level);
    static const int color_types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                       PNG_COLOR_TYPE_RGB_ALPHA};
    png_set_IHDR(png, info, width, height, 8, color_types[channels], PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (text_count > 0) {
        text = calloc(text_count, sizeof(png_text));
        if (text == NULL) {
            writer.failed = 1;
            png_error(png, "out of memory");
        }
        for (size_t i = 0; i < text_count; i++) {
            text[i].key = (png_charp)keys[i];
            text[i].text = (png_charp)values[i];
            if (is_ascii(values[i])) {
                text[i].compression = PNG_TEXT_COMPRESSION_NONE;
                text[i].text_length = strlen(values[i]);
            } else {
                text[i].compression = PNG_ITXT_COMPRESSION_NONE;
                text[i].itxt_length = strlen(values[i]);
            }
        }
        png_set_text(png, info, text, (int)text_count);
    }
    png_write_info(png, info);
    size_t row_bytes = (size_t)width * channels;
    for (uint32_t y = 0; y < height; y++) png_write_row(png, (png_const_bytep)(pixels + (size_t)y * row_bytes));
    png_write_end(png, NULL);
    free(text);
    png_destroy_write_struct(&png, &info);
    *out = writer.buffer;
    return LOOM_OK;
}
