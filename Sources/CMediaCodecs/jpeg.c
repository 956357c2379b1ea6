/* JPEG decode/encode over libjpeg(-turbo) with setjmp-contained error handling. */
#include "common.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    char *err;
    size_t errlen;
} jpeg_err_ctx;

static void loom_jpeg_error_exit(j_common_ptr cinfo) {
    jpeg_err_ctx *ctx = (jpeg_err_ctx *)cinfo->err;
    char message[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, message);
    loom_set_error(ctx->err, ctx->errlen, "JPEG: %s", message);
    longjmp(ctx->jump, 1);
}

static void loom_jpeg_output_message(j_common_ptr cinfo) { (void)cinfo; }

/* Reads the EXIF orientation (tag 0x0112) from an APP1 marker; 1 when absent or malformed. */
static int exif_orientation(j_decompress_ptr cinfo) {
    for (jpeg_saved_marker_ptr m = cinfo->marker_list; m != NULL; m = m->next) {
        if (m->marker != JPEG_APP0 + 1 || m->data_length < 14) continue;
        const uint8_t *d = m->data;
        if (memcmp(d, "Exif\0\0", 6) != 0) continue;
        const uint8_t *t = d + 6;
        size_t len = m->data_length - 6;
        int le;
        if (t[0] == 'I' && t[1] == 'I') le = 1;
        else if (t[0] == 'M' && t[1] == 'M') le = 0;
        else continue;
#define RD16(p) (le ? (uint32_t)((p)[0] | (p)[1] << 8) : (uint32_t)((p)[0] << 8 | (p)[1]))
#define RD32(p) (le ? ((uint32_t)(p)[0] | (uint32_t)(p)[1] << 8 | (uint32_t)(p)[2] << 16 | (uint32_t)(p)[3] << 24) \
                    : ((uint32_t)(p)[0] << 24 | (uint32_t)(p)[1] << 16 | (uint32_t)(p)[2] << 8 | (uint32_t)(p)[3]))
        uint32_t ifd = RD32(t + 4);
        if (ifd > len || len - ifd < 2) continue;
        uint32_t count = RD16(t + ifd);
        for (uint32_t i = 0; i < count; i++) {
            size_t entry = (size_t)ifd + 2 + (size_t)i * 12;
            if (entry + 12 > len) break;
            if (RD16(t + entry) == 0x0112) {
                uint32_t v = RD16(t + entry + 8);
                return (v >= 1 && v <= 8) ? (int)v : 1;
            }
        }
#undef RD16
#undef RD32
    }
    return 1;
}

/* Applies an EXIF orientation to an RGB8 image; returns the new buffer (or NULL) and the new size. */
static uint8_t *orient(const uint8_t *src, uint32_t w, uint32_t h, int orientation, uint32_t *ow, uint32_t *oh) {
    int transpose = orientation >= 5;
    *ow = transpose ? h : w;
    *oh = transpose ? w : h;
    uint8_t *dst = malloc((size_t)w * h * 3);
    if (dst == NULL) return NULL;
    for (uint32_t y = 0; y < *oh; y++) {
        for (uint32_t x = 0; x < *ow; x++) {
            uint32_t sx, sy; /* source coordinates for destination (x, y) */
            switch (orientation) {
            case 2: sx = w - 1 - x; sy = y; break;
            case 3: sx = w - 1 - x; sy = h - 1 - y; break;
            case 4: sx = x; sy = h - 1 - y; break;
            case 5: sx = y; sy = x; break;
            case 6: sx = y; sy = h - 1 - x; break;
            case 7: sx = w - 1 - y; sy = h - 1 - x; break;
            case 8: sx = w - 1 - y; sy = x; break;
            default: sx = x; sy = y; break;
            }
            memcpy(dst + ((size_t)y * *ow + x) * 3, src + ((size_t)sy * w + sx) * 3, 3);
        }
    }
    return dst;
}

int loom_jpeg_decode(const uint8_t *data, size_t size, uint64_t max_pixels, int apply_orientation,
                     loom_image *out, char *err, size_t errlen) {
    if (out == NULL || (data == NULL && size > 0)) return LOOM_ERR_ARGUMENT;
    memset(out, 0, sizeof(*out));
    if (size < 3 || data[0] != 0xFF || data[1] != 0xD8) {
        loom_set_error(err, errlen, "JPEG: not a JPEG file");
        return LOOM_ERR_INVALID;
    }
    struct jpeg_decompress_struct cinfo;
    jpeg_err_ctx ctx;
    memset(&cinfo, 0, sizeof(cinfo));
    cinfo.err = jpeg_std_error(&ctx.base);
    ctx.base.error_exit = loom_jpeg_error_exit;
    ctx.base.output_message = loom_jpeg_output_message;
    ctx.err = err;
    ctx.errlen = errlen;
    uint8_t *volatile pixels = NULL;
    uint8_t *volatile cmyk_row = NULL;
    volatile int rc = LOOM_ERR_INVALID;
    if (setjmp(ctx.jump)) {
        free(pixels);
        free(cmyk_row);
        jpeg_destroy_decompress(&cinfo);
        return rc;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, (const unsigned char *)data, (unsigned long)size);
    if (apply_orientation) jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&cinfo, TRUE);
    int size_rc = loom_check_size(cinfo.image_width, cinfo.image_height, 1, max_pixels, err, errlen);
    if (size_rc != LOOM_OK) {
        rc = size_rc;
        longjmp(ctx.jump, 1);
    }
    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    uint32_t w = cinfo.output_width, h = cinfo.output_height;
    pixels = malloc((size_t)w * h * 3);
    if (cmyk) cmyk_row = malloc((size_t)w * 4);
    if (pixels == NULL || (cmyk && cmyk_row == NULL)) {
        rc = LOOM_ERR_NOMEM;
        loom_set_error(err, errlen, "JPEG: out of memory");
        longjmp(ctx.jump, 1);
    }
    /* Adobe CMYK JPEGs store inverted values (Pillow's "CMYK;I"). */
    int inverted = cmyk && cinfo.saw_Adobe_marker;
    while (cinfo.output_scanline < h) {
        uint8_t *row = pixels + (size_t)cinfo.output_scanline * w * 3;
        JSAMPROW target = cmyk ? (JSAMPROW)cmyk_row : (JSAMPROW)row;
        if (jpeg_read_scanlines(&cinfo, &target, 1) != 1) break;
        if (cmyk) {
            for (uint32_t x = 0; x < w; x++) {
                unsigned c = cmyk_row[4 * x], m = cmyk_row[4 * x + 1], yy = cmyk_row[4 * x + 2], k = cmyk_row[4 * x + 3];
                if (!inverted) { c = 255 - c; m = 255 - m; yy = 255 - yy; k = 255 - k; }
                /* (255 - C)(255 - K)/255 with the stored (inverted) values. */
                row[3 * x] = (uint8_t)((c * k + 127) / 255);
                row[3 * x + 1] = (uint8_t)((m * k + 127) / 255);
                row[3 * x + 2] = (uint8_t)((yy * k + 127) / 255);
            }
        }
    }
    int orientation = apply_orientation ? exif_orientation(&cinfo) : 1;
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(cmyk_row);
    uint8_t *result = pixels;
    uint32_t ow = w, oh = h;
    if (orientation != 1) {
        result = orient(pixels, w, h, orientation, &ow, &oh);
        free(pixels);
        if (result == NULL) {
            loom_set_error(err, errlen, "JPEG: out of memory");
            return LOOM_ERR_NOMEM;
        }
    }
    out->width = ow;
    out->height = oh;
    out->channels = 3;
    out->bytes_per_sample = 1;
    out->alpha_source = LOOM_ALPHA_NONE;
    out->frame_count = 1;
    out->pixels = result;
    out->pixels_size = (size_t)ow * oh * 3;
    return LOOM_OK;
}

int loom_jpeg_encode(const uint8_t *pixels, uint32_t width, uint32_t height, uint32_t channels, int quality,
                     loom_buffer *out, char *err, size_t errlen) {
    if (out == NULL) return LOOM_ERR_ARGUMENT;
    out->data = NULL;
    out->size = 0;
    if (pixels == NULL || channels < 1 || channels > 4 || channels == 2) {
        loom_set_error(err, errlen, "JPEG: invalid arguments");
        return LOOM_ERR_ARGUMENT;
    }
    int size_rc = loom_check_size(width, height, 1, (uint64_t)65500 * 65500, err, errlen);
    if (size_rc != LOOM_OK) return size_rc;
    if (width > 65500 || height > 65500) {
        loom_set_error(err, errlen, "JPEG: dimensions over 65500");
        return LOOM_ERR_TOO_LARGE;
    }
    const int clamped_quality = quality < 1 ? 1 : (quality > 100 ? 100 : quality);
    struct jpeg_compress_struct cinfo;
    jpeg_err_ctx ctx;
    memset(&cinfo, 0, sizeof(cinfo));
    cinfo.err = jpeg_std_error(&ctx.base);
    ctx.base.error_exit = loom_jpeg_error_exit;
    ctx.base.output_message = loom_jpeg_output_message;
    ctx.err = err;
    ctx.errlen = errlen;
    /* dest and mem_size are written by libjpeg through their addresses, so they live in memory. */
    unsigned char *dest = NULL;
    unsigned long mem_size = 0;
    uint8_t *volatile row = NULL;
    if (setjmp(ctx.jump)) {
        jpeg_destroy_compress(&cinfo);
        free(dest);
        free(row);
        return LOOM_ERR_INVALID;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &dest, &mem_size);
    cinfo.image_width = width;
    cinfo.image_height = height;
    int out_channels = channels == 1 ? 1 : 3;
    cinfo.input_components = out_channels;
    cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, clamped_quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    row = malloc((size_t)width * 3);
    if (row == NULL) longjmp(ctx.jump, 1);
    while (cinfo.next_scanline < height) {
        const uint8_t *src = pixels + (size_t)cinfo.next_scanline * width * channels;
        JSAMPROW r;
        if (channels == 4) {
            for (uint32_t x = 0; x < width; x++) memcpy(row + 3 * x, src + 4 * x, 3);
            r = (JSAMPROW)row;
        } else {
            r = (JSAMPROW)src;
        }
        jpeg_write_scanlines(&cinfo, &r, 1);
    }
    jpeg_finish_compress(&cinfo);
    unsigned char *mem = dest;
    jpeg_destroy_compress(&cinfo);
    free(row);
    /* Copy into a malloc'd buffer of our own so loom_buffer_free is always free(). */
    out->data = malloc(mem_size);
    if (out->data == NULL) {
        free(mem);
        return LOOM_ERR_NOMEM;
    }
    memcpy(out->data, mem, mem_size);
    out->size = mem_size;
    free(mem);
    return LOOM_OK;
}
