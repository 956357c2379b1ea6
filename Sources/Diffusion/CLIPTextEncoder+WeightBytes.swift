import Models

extension CLIPTextEncoder {
    /// Bytes its weights occupy once paged in (the cache's estimate).
    var weightBytes: Int {
        parameters.values.reduce(0) { $0 + $1.count * $1.dtype.byteSize }
    }
}
