/* Animated WEBP encoding over libwebpmux's WebPAnimEncoder. */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#include <webp/encode.h>
#include <webp/mux.h>

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
    if (width == 0 || height == 0 || width > WEBP_MAX_DIMENSION || height > WEBP_MAX_DIMENSION) {
        loom_set_error(err, errlen, "WEBP: dimensions %ux%u outside 1..%d", width, height, WEBP_MAX_DIMENSION);
        return LOOM_ERR_TOO_LARGE;
    }
    WebPAnimEncoderOptions enc_options;
    WebPConfig config;
    if (!WebPAnimEncoderOptionsInit(&enc_options) || !WebPConfigInit(&config)) return LOOM_ERR_INVALID;
    enc_options.anim_params.loop_count = (int)loop_count;
    config.lossless = lossless ? 1 : 0;
    config.quality = quality < 0 ? 0 : (quality > 100 ? 100 : quality);
    config.method = method < 0 ? 0 : (method > 6 ? 6 : method);
    if (!WebPValidateConfig(&config)) {
        loom_set_error(err, errlen, "WEBP: invalid encoder configuration");
        return LOOM_ERR_ARGUMENT;
    }
    WebPAnimEncoder *enc = WebPAnimEncoderNew((int)width, (int)height, &enc_options);
    if (enc == NULL) {
        loom_set_error(err, errlen, "WEBP: cannot create animation encoder");
        return LOOM_ERR_NOMEM;
    }
    WebPPicture picture;
    int rc = LOOM_OK;
    int timestamp = 0;
    size_t frame_bytes = (size_t)width * height * 4;
    for (uint32_t i = 0; i < frame_count && rc == LOOM_OK; i++) {
        if (!WebPPictureInit(&picture)) {
            rc = LOOM_ERR_INVALID;
            break;
        }
        picture.width = (int)width;
        picture.height = (int)height;
        picture.use_argb = 1;
        if (!WebPPictureImportRGBA(&picture, frames + frame_bytes * i, (int)width * 4)) {
            loom_set_error(err, errlen, "WEBP: out of memory importing frame %u", i);
            rc = LOOM_ERR_NOMEM;
        } else if (!WebPAnimEncoderAdd(enc, &picture, timestamp, &config)) {
            loom_set_error(err, errlen, "WEBP: cannot encode frame %u: %s", i, WebPAnimEncoderGetError(enc));
            rc = LOOM_ERR_INVALID;
        }
        WebPPictureFree(&picture);
        timestamp += durations_ms[i] > 0 ? durations_ms[i] : 1;
    }
    WebPData data;
    WebPDataInit(&data);
    if (rc == LOOM_OK && (!WebPAnimEncoderAdd(enc, NULL, timestamp, NULL) || !WebPAnimEncoderAssemble(enc, &data))) {
        loom_set_error(err, errlen, "WEBP: cannot assemble animation: %s", WebPAnimEncoderGetError(enc));
        rc = LOOM_ERR_INVALID;
    }
    WebPAnimEncoderDelete(enc);
    if (rc != LOOM_OK) {
        WebPDataClear(&data);
        return rc;
    }
    out->data = malloc(data.size);
    if (out->data == NULL) {
        WebPDataClear(&data);
        return LOOM_ERR_NOMEM;
    }
    memcpy(out->data, data.bytes, data.size);
    out->size = data.size;
    WebPDataClear(&data);
    return LOOM_OK;
}
