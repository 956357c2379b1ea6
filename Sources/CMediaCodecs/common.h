/* Internal helpers shared by the codec shims. */
#ifndef LOOM_CMEDIACODECS_COMMON_H
#define LOOM_CMEDIACODECS_COMMON_H

#include "CMediaCodecs.h"

/* No edge may exceed this, whatever max_pixels says (PNG's own limit is 2^31-1). */
#define LOOM_MAX_EDGE 1000000u

void loom_set_error(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int loom_check_size(uint64_t width, uint64_t height, uint64_t frames, uint64_t max_pixels, char *err, size_t errlen);
int loom_buffer_append(loom_buffer *buffer, size_t *capacity, const void *bytes, size_t count);

#endif
