/// One tensor entry of a safetensors header, validated.
public struct TensorInfo: Sendable, Hashable, Codable {
    /// The tensor's key, e.g. `model.diffusion_model.out.2.weight`.
    public var name: String
    public var dtype: SafetensorsDType
    public var shape: [Int]
    /// Byte range relative to the start of the data section (just after the header).
    public var dataOffsets: Range<Int>

    public init(name: String, dtype: SafetensorsDType, shape: [Int], dataOffsets: Range<Int>) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.dataOffsets = dataOffsets
    }

    /// Number of elements: the product of `shape` (1 for a scalar).
    public var elementCount: Int { shape.reduce(1, *) }

    /// Number of bytes of the tensor's data.
    public var byteCount: Int { dataOffsets.count }
}
