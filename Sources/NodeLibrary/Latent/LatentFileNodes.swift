import Checkpoints
import Diffusion
import FolderPaths
import Foundation
import TensorCore
import Workflow

/// ComfyUI's `SaveLatent` and `LoadLatent` (nodes.py): a LATENT's samples as a `.latent` file, a
/// safetensors file holding `latent_tensor` (float32) and the empty marker `latent_format_version_0`.
///
/// Files without the marker come from before the format change and hold samples multiplied by
/// SD1.x's 0.18215; LoadLatent divides them back out. Only `samples` is stored: a noise mask or batch
/// index does not survive a round trip, as in ComfyUI.
enum LatentFileNodes {
    /// Key of the samples tensor.
    static let tensorKey = "latent_tensor"
    /// Key whose presence marks the current format (samples stored unscaled).
    static let versionKey = "latent_format_version_0"
    /// The factor applied to files without ``versionKey`` (1 / SD1.x's latent scale 0.18215).
    static let legacyMultiplier = Float(1.0 / 0.18215)

    /// `SaveLatent`: writes `output/<prefix>_NNNNN_.latent` with the prompt and `extra_pnginfo`
    /// entries as JSON strings in `__metadata__` (none with `--disable-metadata`).
    static func saveDefinition(_ env: NodeEnvironment) -> NodeDefinition {
        let schema = NodeSchema(
            name: "SaveLatent", category: "_for_testing", pythonModule: "nodes", isOutputNode: true,
            required: [
                InputSpec("samples", .socket(SocketType.latent)),
                InputSpec("filename_prefix", .string(StringOptions(default: "latents/ComfyUI"))),
            ],
            hidden: [.prompt, .extraPNGInfo],
            outputs: []
        )
        let directory = env.directories.output, disableMetadata = env.disableMetadata
        return NodeDefinition(schema: schema) { inv in
            let latent = try inv.latent("samples")
            let prefix = (try? inv.string("filename_prefix")) ?? "ComfyUI"
            let plan: OutputPath
            do {
                plan = try OutputPath.next(prefix: prefix, in: directory, width: 0, height: 0)
            } catch let error as PathError {
                throw NodeError("Saving latent outside the output folder is not allowed: \(error.description)",
                                type: "loom.PathError")
            }
            let file = plan.fileName(counter: plan.counter, extension: "latent")
            guard SafePath.isSafeComponent(file) else { throw NodeError("Invalid output file name '\(file)'") }
            let metadata = disableMetadata ? nil : Self.metadata(prompt: inv.prompt, extraPNGInfo: inv.extraPNGInfo)
            do throws(CheckpointError) {
                try Self.writer(latent.samples, metadata: metadata).write(to: plan.path(of: file))
            } catch {
                let cause = error.cause.map { " (\($0))" } ?? ""
                throw NodeError("Cannot save latent \(file): \(error.message)\(cause)", type: "loom.IOError")
            }
            let entry = JSONObject([
                ("filename", .string(file)), ("subfolder", .string(plan.subfolder)), ("type", .string(FileKind.output.rawValue)),
            ])
            return NodeResult(outputs: [], ui: JSONObject([("latents", .array([.object(entry)]))]))
        }
    }

    /// `LoadLatent`: reads a `.latent` file from `input/` (annotated names like `x.latent [output]`
    /// resolve as LoadImage's do). The fingerprint is the file's SHA-256; validation requires the
    /// file to exist inside its directory.
    static func loadDefinition(_ env: NodeEnvironment) -> NodeDefinition {
        let directories = env.directories
        let schema = NodeSchema(
            name: "LoadLatent", category: "_for_testing", pythonModule: "nodes",
            required: [InputSpec("latent", .combo(ComboOptions(dynamic: { inputLatents(directories) })))],
            outputs: [OutputSpec(SocketType.latent)]
        )
        return NodeDefinition(
            schema: schema,
            fingerprint: { constants in
                guard let name = constants["latent"]?.stringValue,
                      let path = try? directories.resolveAnnotated(name),
                      let digest = try? SHA256.hex(ofFile: path) else { return nil }
                return .string(digest)
            },
            validate: { constants in
                guard let value = constants["latent"] else { return nil } // linked: checked when it runs
                guard let name = value.stringValue else {
                    return ValidationFailure(inputName: "latent", reason: "Invalid latent file: \(value.jsonString())")
                }
                if directories.annotatedFileExists(name) { return nil }
                return ValidationFailure(inputName: "latent", reason: "Invalid latent file: \(name)")
            },
            validatedInputs: ["latent"],
            execute: { inv in
                let name = try inv.string("latent")
                let path: String
                do {
                    path = try directories.resolveAnnotated(name)
                } catch let error as PathError {
                    throw NodeError("Invalid latent file: \(name) (\(error.message))", type: "loom.PathError")
                }
                guard directories.annotatedFileExists(name) else {
                    throw NodeError("Invalid latent file: \(name)", type: "loom.IOError")
                }
                return NodeResult(outputs: [.object(try load(path: path, name: name))])
            }
        )
    }

    /// The `__metadata__` map: `prompt` (`""` when the job has none) and one entry per
    /// `extra_pnginfo` key, each value as Python's `json.dumps` writes it.
    static func metadata(prompt: JSONValue, extraPNGInfo: JSONValue?) -> [String: String] {
        var metadata = ["prompt": prompt.isNull ? "" : PythonJSON.dumps(prompt)]
        if let extra = extraPNGInfo?.objectValue {
            for (key, value) in extra { metadata[key] = PythonJSON.dumps(value) }
        }
        return metadata
    }

    /// A writer holding `samples` as dense float32 `latent_tensor` and the empty version marker.
    static func writer(_ samples: Tensor, metadata: [String: String]?) throws(CheckpointError) -> SafetensorsWriter {
        var writer = SafetensorsWriter(metadata: metadata)
        try writer.add(tensorKey, tensor: samples.contiguous(as: .float32))
        try writer.add(versionKey, floats: [], shape: [0])
        return writer
    }

    /// Reads a `.latent` file into a LATENT.
    /// - Throws: ``NodeError`` for a malformed or truncated file, a missing `latent_tensor`, a
    ///   non-float dtype or a shape other than `[B, C, H, W]` with every dimension at least 1.
    static func load(path: String, name: String) throws -> Latent {
        func fail(_ reason: String) -> NodeError {
            NodeError("Cannot load latent \(name): \(reason)", type: "loom.LatentFileError")
        }
        let file: SafetensorsFile
        do {
            file = try SafetensorsFile(path: path)
        } catch {
            throw fail("not a valid safetensors file (\(error.message))")
        }
        guard let info = file[tensorKey] else { throw fail("the file has no '\(tensorKey)' tensor") }
        guard info.dtype.convertsToFloat else {
            throw fail("'\(tensorKey)' is \(info.dtype.rawValue); expected a float tensor (F32, F16 or BF16)")
        }
        guard info.shape.count == 4, info.shape.allSatisfy({ $0 > 0 }) else {
            throw fail("'\(tensorKey)' has shape \(info.shape); expected [batch, channels, height, width]")
        }
        var samples: Tensor
        do {
            samples = try file.tensor(tensorKey)
        } catch {
            throw fail(error.message)
        }
        if file[versionKey] == nil {
            let multiplier = legacyMultiplier
            samples.withMutableFloats { values in
                for i in values.indices { values[i] *= multiplier }
            }
        }
        return Latent(samples: samples)
    }

    /// The LoadLatent choices: regular files at the top level of `input/` ending in `.latent`, sorted by
    /// code point like Python's `sorted`; symlinks only when they stay inside `input/`.
    static func inputLatents(_ directories: DataDirectories) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directories.input)) ?? []
        return names.filter { name in
            guard name.hasSuffix(".latent"), let path = try? SafePath.resolve(name, in: directories.input) else { return false }
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
        }.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
    }
}
