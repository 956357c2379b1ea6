#include "common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void loom_set_error(char *err, size_t errlen, const char *fmt, ...) {
    if (err == NULL || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int loom_check_size(uint64_t width, uint64_t height, uint64_t frames, uint64_t max_pixels,
                    char *err, size_t errlen) {
    if (width == 0 || height == 0) {
        loom_set_error(err, errlen, "image has zero size (%llux%llu)", (unsigned long long)width,
                       (unsigned long long)height);
        return LOOM_ERR_INVALID;
    }
    if (width > LOOM_MAX_EDGE || height > LOOM_MAX_EDGE || frames > LOOM_MAX_EDGE ||
        width * height > max_pixels || width * height * (frames ? frames : 1) > max_pixels) {
        loom_set_error(err, errlen, "image too large: %llux%llu x %llu frame(s) exceeds the limit of %llu pixels",
                       (unsigned long long)width, (unsigned long long)height, (unsigned long long)frames,
                       (unsigned long long)max_pixels);
        return LOOM_ERR_TOO_LARGE;
    }
    return LOOM_OK;
}

void loom_image_free(loom_image *image) {
    if (image == NULL) return;
    free(image->pixels);
    free(image->durations_ms);
    free(image->text);
    memset(image, 0, sizeof(*image));
}

void loom_buffer_free(loom_buffer *buffer) {
    if (buffer == NULL) return;
    free(buffer->data);
    buffer->data = NULL;
    buffer->size = 0;
}

int loom_buffer_append(loom_buffer *buffer, size_t *capacity, const void *bytes, size_t count) {
    if (buffer->size + count > *capacity) {
        size_t cap = *capacity ? *capacity : 4096;
        while (cap < buffer->size + count) cap *= 2;
        uint8_t *grown = realloc(buffer->data, cap);
        if (grown == NULL) return 0;
        buffer->data = grown;
        *capacity = cap;
    }
    memcpy(buffer->data + buffer->size, bytes, count);
    buffer->size += count;
    return 1;
}
