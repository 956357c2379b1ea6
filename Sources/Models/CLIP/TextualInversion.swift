import Checkpoints
import Foundation
import TensorCore

/// Textual-inversion embeddings (Gal et al., "An Image is Worth One Word: Personalizing Text-to-Image
/// Generation using Textual Inversion", 2022): learned vectors that stand in for token-embedding rows.
///
/// Files are safetensors. The tensor is chosen as ComfyUI does for SD1.x, with the A1111 layout
/// named explicitly: `clip_l` (ComfyUI's key for CLIP-L), then `emb_params` (A1111), then the
/// first `string_to_param.*` (a converted `.pt`), then the file's only tensor. A 1-D tensor is one
/// vector; otherwise the last dimension is the width and the others are flattened into vectors.
public enum TextualInversion {
    /// The SD1.x (CLIP-L) embedding width.
    public static let clipLWidth = 768

    /// Keys tried in order before falling back to `string_to_param.*` or the only tensor.
    static let preferredKeys = ["clip_l", "emb_params"]

    /// Loads the vectors of the embedding file at `path`.
    ///
    /// - Parameters:
    ///   - path: a `.safetensors` file.
    ///   - width: the text encoder's hidden size (768 for CLIP-L).
    /// - Returns: float32 `[vectors, width]`.
    /// - Throws: ``TextualInversionError``: `.unsupportedFormat` for a pickle file, `.unreadableFile`,
    ///   `.noEmbeddingTensor`, `.wrongWidth`, `.empty`.
    public static func load(path: String, width: Int = clipLWidth) throws(TextualInversionError) -> Tensor {
        let file = try open(path)
        let name = try tensorName(in: file)
        let tensor: Tensor
        do {
            tensor = try file.tensor(name)
        } catch {
            throw TextualInversionError(.unreadableFile, "tensor '\(name)' cannot be read as floats", path: path,
                                        cause: error.description)
        }
        let shape = try vectorShape(tensor.shape, name: name, path: path, width: width)
        return tensor.reshaped(shape)
    }

    /// The number of vectors in the embedding file at `path`, reading only its header.
    ///
    /// - Throws: as ``load(path:width:)``.
    public static func vectorCount(path: String, width: Int = clipLWidth) throws(TextualInversionError) -> Int {
        let file = try open(path)
        let name = try tensorName(in: file)
        return try vectorShape(file.shapes[name] ?? [], name: name, path: path, width: width)[0]
    }

    /// Opens `path` as safetensors, refusing pickle files with a message that says what to do.
    static func open(_ path: String) throws(TextualInversionError) -> SafetensorsFile {
        let unsupported = TextualInversionError(
            .unsupportedFormat,
            "pickle embedding files (.pt/.bin) are not supported; convert the embedding to .safetensors",
            path: path)
        let lower = path.lowercased()
        if [".pt", ".bin", ".ckpt", ".pth"].contains(where: lower.hasSuffix) { throw unsupported }
        do {
            return try SafetensorsFile(path: path)
        } catch {
            if looksLikeTorchSave(path) { throw unsupported }
            throw TextualInversionError(.unreadableFile, "not a readable safetensors file", path: path,
                                        cause: error.description)
        }
    }

    /// Whether the file starts like a torch save: a zip archive or a protocol-2+ pickle.
    private static func looksLikeTorchSave(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let head = [UInt8]((try? handle.read(upToCount: 4)) ?? Data())
        return head.starts(with: [0x50, 0x4B, 0x03, 0x04]) || head.first == 0x80
    }

    /// The tensor that holds the vectors.
    static func tensorName(in file: SafetensorsFile) throws(TextualInversionError) -> String {
        let names = file.names.sorted()
        if let key = preferredKeys.first(where: names.contains) { return key }
        if let key = names.first(where: { $0.hasPrefix("string_to_param.") }) { return key }
        if names.count == 1 { return names[0] }
        throw TextualInversionError(
            .noEmbeddingTensor,
            names.isEmpty ? "the file holds no tensors"
                : "no tensor named \((preferredKeys + ["string_to_param.*"]).joined(separator: ", ")) among \(names)",
            path: file.path)
    }

    /// `[vectors, width]` for a tensor of `shape`.
    static func vectorShape(_ shape: [Int], name: String, path: String, width: Int) throws(TextualInversionError) -> [Int] {
        guard let last = shape.last, last == width else {
            throw TextualInversionError(
                .wrongWidth,
                "tensor '\(name)' has shape \(shape); the text encoder needs vectors of width \(width)"
                    + (shape.last.map { $0 == 1024 ? " (this looks like an SD2.x embedding)" : "" } ?? ""),
                path: path)
        }
        let count = shape.dropLast().reduce(1, *)
        guard count > 0 else {
            throw TextualInversionError(.empty, "tensor '\(name)' has shape \(shape): no vectors", path: path)
        }
        return [count, width]
    }
}
