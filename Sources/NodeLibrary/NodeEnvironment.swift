import FolderPaths
import Workflow

/// What the built-in nodes need from the server: directories, flags and resource limits.
/// Built once by the composition root and captured by the node definitions.
public struct NodeEnvironment: Sendable {
    /// The data directories (input, output, temp, models, …).
    public var directories: DataDirectories
    /// `--disable-metadata`: savers write no prompt/workflow text chunks.
    public var disableMetadata: Bool
    /// Refusal threshold for tensors a node would allocate: width × height × batch.
    /// The default, 2^28, is one 16384×16384 image (3 GiB as float RGB).
    public var maxPixels: Int

    /// The default ``maxPixels``.
    public static let defaultMaxPixels = 1 << 28

    public init(directories: DataDirectories, disableMetadata: Bool = false, maxPixels: Int = NodeEnvironment.defaultMaxPixels) {
        self.directories = directories
        self.disableMetadata = disableMetadata
        self.maxPixels = maxPixels
    }

    /// Throws before allocating a tensor of `width × height × batch` pixels over ``maxPixels``.
    /// - Throws: ``NodeError`` with the requested size and the limit.
    public func checkPixels(width: Int, height: Int, batch: Int = 1) throws {
        let (wh, o1) = width.multipliedReportingOverflow(by: height)
        let (total, o2) = wh.multipliedReportingOverflow(by: max(batch, 1))
        if width < 0 || height < 0 || o1 || o2 || total > maxPixels {
            throw NodeError("Requested image size \(width)x\(height) x \(batch) exceeds the limit of \(maxPixels) pixels",
                            type: "loom.ImageTooLarge")
        }
    }
}
