/* WEBP decode (still and animated) and encode over libwebp / libwebpdemux. */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#include <webp/decode.h>
#include <webp/demux.h>
#include <webp/encode.h>

static int decode_animated(const uint8_t *data, size_t size, uint64_t max_pixels, int has_alpha,
                           loom_image *out, char *err, size_t errlen) {
    WebPAnimDecoderOptions options;
    if (!WebPAnimDecoderOptionsInit(&options)) return LOOM_ERR_INVALID;
    options.color_mode = MODE_RGBA;
    options.use_threads = 0;
    WebPData webp_data = {data, size};
    WebPAnimDecoder *dec = WebPAnimDecoderNew(&webp_data, &options);
    if (dec == NULL) {
        loom_set_error(err, errlen, "WEBP: cannot parse animation");
        return LOOM_ERR_INVALID;
    }
    WebPAnimInfo info;
    if (!WebPAnimDecoderGetInfo(dec, &info)) {
        WebPAnimDecoderDelete(dec);
        loom_set_error(err, errlen, "WEBP: cannot read animation info");
        return LOOM_ERR_INVALID;
    }
    int rc = loom_check_size(info.canvas_width, info.canvas_height, info.frame_count, max_pixels, err, errlen);
    if (rc != LOOM_OK || info.frame_count == 0) {
        WebPAnimDecoderDelete(dec);
        if (rc == LOOM_OK) loom_set_error(err, errlen, "WEBP: animation has no frames");
        return rc == LOOM_OK ? LOOM_ERR_INVALID : rc;
    }
    size_t frame_bytes = (size_t)info.canvas_width * info.canvas_height * 4;
    uint8_t *pixels = malloc(frame_bytes * info.frame_count);
    int32_t *durations = malloc(sizeof(int32_t) * info.frame_count);
    if (pixels == NULL || durations == NULL) {
        free(pixels);
        free(durations);
        WebPAnimDecoderDelete(dec);
        loom_set_error(err, errlen, "WEBP: out of memory");
        return LOOM_ERR_NOMEM;
    }
    uint32_t n = 0;
    int previous = 0;
    while (n < info.frame_count && WebPAnimDecoderHasMoreFrames(dec)) {
        uint8_t *frame = NULL;
        int timestamp = 0;
        if (!WebPAnimDecoderGetNext(dec, &frame, &timestamp)) {
            free(pixels);
            free(durations);
            WebPAnimDecoderDelete(dec);
            loom_set_error(err, errlen, "WEBP: corrupt animation frame %u", n);
            return LOOM_ERR_INVALID;
        }
        memcpy(pixels + frame_bytes * n, frame, frame_bytes);
        durations[n] = timestamp - previous;
        previous = timestamp;
        n++;
    }
    WebPAnimDecoderDelete(dec);
    if (n == 0) {
        free(pixels);
        free(durations);
        loom_set_error(err, errlen, "WEBP: animation has no frames");
        return LOOM_ERR_INVALID;
    }
    /* WebPAnimEncoder can leave the VP8X alpha flag unset although frames are transparent:
     * report alpha when the flag is set or any decoded pixel is not opaque. */
    for (size_t i = 3; !has_alpha && i < frame_bytes * n; i += 4)
        if (pixels[i] != 255) has_alpha = 1;
    out->width = info.canvas_width;
    out->height = info.canvas_height;
    out->channels = 4;
    out->bytes_per_sample = 1;
    out->alpha_source = has_alpha ? LOOM_ALPHA_CHANNEL : LOOM_ALPHA_NONE;
    out->frame_count = n;
    out->durations_ms = durations;
    out->pixels = pixels;
    out->pixels_size = frame_bytes * n;
    out->loop_count = info.loop_count;
    return LOOM_OK;
}

int loom_webp_decode(const uint8_t *data, size_t size, uint64_t max_pixels,
                     loom_image *out, char *err, size_t errlen) {
    if (out == NULL || (data == NULL && size > 0)) return LOOM_ERR_ARGUMENT;
    memset(out, 0, sizeof(*out));
    WebPBitstreamFeatures features;
    if (size < 12 || WebPGetFeatures(data, size, &features) != VP8_STATUS_OK) {
        loom_set_error(err, errlen, "WEBP: not a valid WEBP file");
        return LOOM_ERR_INVALID;
    }
    if (features.has_animation) return decode_animated(data, size, max_pixels, features.has_alpha, out, err, errlen);
    int rc = loom_check_size((uint64_t)features.width, (uint64_t)features.height, 1, max_pixels, err, errlen);
    if (rc != LOOM_OK) return rc;
    uint32_t channels = features.has_alpha ? 4 : 3;
    size_t stride = (size_t)features.width * channels;
    size_t total = stride * (size_t)features.height;
    uint8_t *pixels = malloc(total);
    if (pixels == NULL) {
        loom_set_error(err, errlen, "WEBP: out of memory");
        return LOOM_ERR_NOMEM;
    }
    uint8_t *ok = features.has_alpha
        ? WebPDecodeRGBAInto(data, size, pixels, total, (int)stride)
        : WebPDecodeRGBInto(data, size, pixels, total, (int)stride);
    if (ok == NULL) {
        free(pixels);
        loom_set_error(err, errlen, "WEBP: corrupt or truncated data");
        return LOOM_ERR_INVALID;
    }
    out->width = (uint32_t)features.width;
    out->height = (uint32_t)features.height;
    out->channels = channels;
    out->bytes_per_sample = 1;
    out->alpha_source = features.has_alpha ? LOOM_ALPHA_CHANNEL : LOOM_ALPHA_NONE;
    out->frame_count = 1;
    out->pixels = pixels;
    out->pixels_size = total;
    return LOOM_OK;
}

int loom_webp_encode(const uint8_t *pixels, uint32_t width, uint32_t height, uint32_t channels, float quality,
                     int lossless, loom_buffer *out, char *err, size_t errlen) {
    if (out == NULL) return LOOM_ERR_ARGUMENT;
    out->data = NULL;
    out->size = 0;
    if (pixels == NULL || (channels != 3 && channels != 4)) {
        loom_set_error(err, errlen, "WEBP: invalid arguments (channels must be 3 or 4)");
        return LOOM_ERR_ARGUMENT;
    }
    if (width == 0 || height == 0 || width > WEBP_MAX_DIMENSION || height > WEBP_MAX_DIMENSION) {
        loom_set_error(err, errlen, "WEBP: dimensions %ux%u outside 1..%d", width, height, WEBP_MAX_DIMENSION);
        return LOOM_ERR_TOO_LARGE;
    }
    if (quality < 0) quality = 0;
    if (quality > 100) quality = 100;
    int stride = (int)(width * channels);
    uint8_t *encoded = NULL;
    size_t n;
    if (lossless)
        n = channels == 4 ? WebPEncodeLosslessRGBA(pixels, (int)width, (int)height, stride, &encoded)
                          : WebPEncodeLosslessRGB(pixels, (int)width, (int)height, stride, &encoded);
    else
        n = channels == 4 ? WebPEncodeRGBA(pixels, (int)width, (int)height, stride, quality, &encoded)
                          : WebPEncodeRGB(pixels, (int)width, (int)height, stride, quality, &encoded);
    if (n == 0 || encoded == NULL) {
        if (encoded) WebPFree(encoded);
        loom_set_error(err, errlen, "WEBP: encoding failed");
        return LOOM_ERR_INVALID;
    }
    out->data = malloc(n);
    if (out->data == NULL) {
        WebPFree(encoded);
        return LOOM_ERR_NOMEM;
    }
    memcpy(out->data, encoded, n);
    out->size = n;
    WebPFree(encoded);
    return LOOM_OK;
}
