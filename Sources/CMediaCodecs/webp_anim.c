/* Animated WEBP encoding over libwebpmux's WebPAnimEncoder, one frame at a time, with an optional
 * EXIF chunk added through WebPMux. */
#include "common.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <webp/encode.h>
#include <webp/mux.h>

struct loom_webp_anim_writer {
    WebPAnimEncoder *encoder;
    WebPConfig config;
    uint32_t width;
    uint32_t height;
    uint32_t frame_count;
    int64_t timestamp_ms; /* start of the next frame */
};

int loom_webp_anim_writer_new(uint32_t width, uint32_t height, uint32_t loop_count, float quality, int lossless,
                              int method, loom_webp_anim_writer **out, char *err, size_t errlen) {
    if (out == NULL) return LOOM_ERR_ARGUMENT;
    *out = NULL;
    if (width == 0 || height == 0 || width > WEBP_MAX_DIMENSION || height > WEBP_MAX_DIMENSION) {
        loom_set_error(err, errlen, "WEBP: dimensions %ux%u outside 1..%d", width, height, WEBP_MAX_DIMENSION);
        return LOOM_ERR_TOO_LARGE;
    }
    WebPAnimEncoderOptions enc_options;
    loom_webp_anim_writer *writer = calloc(1, sizeof(*writer));
    if (writer == NULL) {
        loom_set_error(err, errlen, "WEBP: out of memory");
        return LOOM_ERR_NOMEM;
    }
    if (!WebPAnimEncoderOptionsInit(&enc_options) || !WebPConfigInit(&writer->config)) {
        free(writer);
        loom_set_error(err, errlen, "WEBP: libwebp version mismatch");
        return LOOM_ERR_INVALID;
    }
    /* The ANIM chunk stores the loop count in 16 bits. */
    enc_options.anim_params.loop_count = loop_count > 65535 ? 65535 : (int)loop_count;
    writer->config.lossless = lossless ? 1 : 0;
    writer->config.quality = quality < 0 ? 0 : (quality > 100 ? 100 : quality);
    writer->config.method = method < 0 ? 0 : (method > 6 ? 6 : method);
    if (!WebPValidateConfig(&writer->config)) {
        free(writer);
        loom_set_error(err, errlen, "WEBP: invalid encoder configuration");
        return LOOM_ERR_ARGUMENT;
    }
    writer->encoder = WebPAnimEncoderNew((int)width, (int)height, &enc_options);
    if (writer->encoder == NULL) {
        free(writer);
        loom_set_error(err, errlen, "WEBP: cannot create animation encoder");
        return LOOM_ERR_NOMEM;
    }
    writer->width = width;
    writer->height = height;
    *out = writer;
    return LOOM_OK;
}

int loom_webp_anim_writer_add(loom_webp_anim_writer *writer, const uint8_t *pixels, uint32_t channels,
                              int32_t duration_ms, char *err, size_t errlen) {
    if (writer == NULL || writer->encoder == NULL) {
        loom_set_error(err, errlen, "WEBP: the animation writer is already finished");
        return LOOM_ERR_ARGUMENT;
    }
    if (pixels == NULL || (channels != 3 && channels != 4)) {
        loom_set_error(err, errlen, "WEBP: invalid frame (channels must be 3 or 4)");
        return LOOM_ERR_ARGUMENT;
    }
    int64_t duration = duration_ms > 0 ? duration_ms : 1;
    if (writer->timestamp_ms + duration > INT_MAX) {
        loom_set_error(err, errlen, "WEBP: total animation duration exceeds %d ms", INT_MAX);
        return LOOM_ERR_ARGUMENT;
    }
    WebPPicture picture;
    if (!WebPPictureInit(&picture)) {
        loom_set_error(err, errlen, "WEBP: libwebp version mismatch");
        return LOOM_ERR_INVALID;
    }
    picture.width = (int)writer->width;
    picture.height = (int)writer->height;
    picture.use_argb = 1;
    int stride = (int)(writer->width * channels);
    int imported = channels == 4 ? WebPPictureImportRGBA(&picture, pixels, stride)
                                 : WebPPictureImportRGB(&picture, pixels, stride);
    int rc = LOOM_OK;
    if (!imported) {
        loom_set_error(err, errlen, "WEBP: out of memory importing frame %u", writer->frame_count);
        rc = LOOM_ERR_NOMEM;
    } else if (!WebPAnimEncoderAdd(writer->encoder, &picture, (int)writer->timestamp_ms, &writer->config)) {
        loom_set_error(err, errlen, "WEBP: cannot encode frame %u: %s", writer->frame_count,
                       WebPAnimEncoderGetError(writer->encoder));
        rc = LOOM_ERR_INVALID;
    }
    WebPPictureFree(&picture);
    if (rc == LOOM_OK) {
        writer->timestamp_ms += duration;
        writer->frame_count++;
    }
    return rc;
}

/* Adds an EXIF chunk to an assembled file through WebPMux (which sets the VP8X EXIF flag). */
static int add_exif(WebPData *file, const uint8_t *exif, size_t exif_size, char *err, size_t errlen) {
    WebPMux *mux = WebPMuxCreate(file, 0);
    if (mux == NULL) {
        loom_set_error(err, errlen, "WEBP: cannot re-read the assembled animation");
        return LOOM_ERR_INVALID;
    }
    WebPData chunk = {exif, exif_size};
    WebPData assembled;
    WebPDataInit(&assembled);
    WebPMuxError mux_rc = WebPMuxSetChunk(mux, "EXIF", &chunk, 1);
    if (mux_rc == WEBP_MUX_OK) mux_rc = WebPMuxAssemble(mux, &assembled);
    WebPMuxDelete(mux);
    if (mux_rc != WEBP_MUX_OK) {
        WebPDataClear(&assembled);
        loom_set_error(err, errlen, "WEBP: cannot add the EXIF chunk (mux error %d)", (int)mux_rc);
        return mux_rc == WEBP_MUX_MEMORY_ERROR ? LOOM_ERR_NOMEM : LOOM_ERR_INVALID;
    }
    WebPDataClear(file);
    *file = assembled;
    return LOOM_OK;
}

int loom_webp_anim_writer_finish(loom_webp_anim_writer *writer, const uint8_t *exif, size_t exif_size,
                                 loom_buffer *out, char *err, size_t errlen) {
    if (out == NULL) return LOOM_ERR_ARGUMENT;
    out->data = NULL;
    out->size = 0;
    if (writer == NULL || writer->encoder == NULL) {
        loom_set_error(err, errlen, "WEBP: the animation writer is already finished");
        return LOOM_ERR_ARGUMENT;
    }
    if (writer->frame_count == 0) {
        loom_set_error(err, errlen, "WEBP: no frames to encode");
        return LOOM_ERR_ARGUMENT;
    }
    if (exif == NULL && exif_size > 0) return LOOM_ERR_ARGUMENT;
    WebPData data;
    WebPDataInit(&data);
    int rc = LOOM_OK;
    if (!WebPAnimEncoderAdd(writer->encoder, NULL, (int)writer->timestamp_ms, NULL) ||
        !WebPAnimEncoderAssemble(writer->encoder, &data)) {
        loom_set_error(err, errlen, "WEBP: cannot assemble animation: %s", WebPAnimEncoderGetError(writer->encoder));
        rc = LOOM_ERR_INVALID;
    }
    /* The encoder cannot take more frames after assembling. */
    WebPAnimEncoderDelete(writer->encoder);
    writer->encoder = NULL;
    if (rc == LOOM_OK && exif_size > 0) rc = add_exif(&data, exif, exif_size, err, errlen);
    if (rc != LOOM_OK) {
        WebPDataClear(&data);
        return rc;
    }
    out->data = malloc(data.size);
    if (out->data == NULL) {
        WebPDataClear(&data);
        loom_set_error(err, errlen, "WEBP: out of memory");
        return LOOM_ERR_NOMEM;
    }
    memcpy(out->data, data.bytes, data.size);
    out->size = data.size;
    WebPDataClear(&data);
    return LOOM_OK;
}

void loom_webp_anim_writer_free(loom_webp_anim_writer *writer) {
    if (writer == NULL) return;
    if (writer->encoder != NULL) WebPAnimEncoderDelete(writer->encoder);
    free(writer);
}

int loom_webp_anim_encode(const uint8_t *frames, uint32_t width, uint32_t height, uint32_t frame_count,
                          const int32_t *durations_ms, uint32_t loop_count, float quality, int lossless, int method,
                          loom_buffer *out, char *err, size_t errlen) {
    if (out == NULL) return LOOM_ERR_ARGUMENT;
    out->data = NULL;
    out->size = 0;
    if (frames == NULL || durations_ms == NULL || frame_count == 0) {
        loom_set_error(err, errlen, "WEBP: no frames to encode");
        return LOOM_ERR_ARGUMENT;
    }
    loom_webp_anim_writer *writer = NULL;
    int rc = loom_webp_anim_writer_new(width, height, loop_count, quality, lossless, method, &writer, err, errlen);
    size_t frame_bytes = (size_t)width * height * 4;
    for (uint32_t i = 0; i < frame_count && rc == LOOM_OK; i++)
        rc = loom_webp_anim_writer_add(writer, frames + frame_bytes * i, 4, durations_ms[i], err, errlen);
    if (rc == LOOM_OK) rc = loom_webp_anim_writer_finish(writer, NULL, 0, out, err, errlen);
    loom_webp_anim_writer_free(writer);
    return rc;
}
