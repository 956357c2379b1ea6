// oneDNN's C API (Debian: libdnnl-dev, oneDNN 2.6).
#include <dnnl.h>
