#include "CMediaCodecs.h"
int loom_media_placeholder(void) { return 0; }
