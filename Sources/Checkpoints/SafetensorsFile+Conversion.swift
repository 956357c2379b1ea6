import TensorCore

extension TensorBytes {
    /// The tensor's elements widened to `Float` (F32, F16 and BF16 only).
    ///
    /// - Throws: `CheckpointError` `.unsupportedConversion` for any other dtype.
    public func floats() throws(CheckpointError) -> [Float] {
        guard info.dtype.convertsToFloat else {
            throw CheckpointError(
                .unsupportedConversion, "\(info.dtype.rawValue) does not convert to F32 (F32, F16 and BF16 do)",
                path: mapping.path, key: info.name)
        }
        let count = info.elementCount
        return withUnsafeBytes { raw in
            [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                FloatConversion.convert(raw, dtype: info.dtype, into: UnsafeMutableBufferPointer(rebasing: buffer[0..<count]))
                initialized = count
            }
        }
    }
}

extension SafetensorsFile {
    /// The elements of tensor `name` widened to `Float`.
    ///
    /// - Throws: `CheckpointError` `.missingTensor` or `.unsupportedConversion`.
    public func floats(_ name: String) throws(CheckpointError) -> [Float] {
        try bytes(name).floats()
    }

    /// Tensor `name` as an f32 `Tensor` (a copy; F32, F16 and BF16 sources).
    ///
    /// - Throws: `CheckpointError` `.missingTensor` or `.unsupportedConversion`.
    public func tensor(_ name: String) throws(CheckpointError) -> Tensor {
        let bytes = try bytes(name)
        return Tensor(shape: bytes.info.shape, scalars: try bytes.floats())
    }
}
