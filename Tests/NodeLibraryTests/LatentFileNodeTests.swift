import Checkpoints
import Diffusion
import FolderPaths
import Foundation
@testable import NodeLibrary
import TensorCore
import Testing
import Workflow

/// A no-op execution context for calling the latent file nodes directly.
private struct LatentFileContext: NodeExecutionContext {
    var promptID = "latent-file-prompt"
    var nodeID = "1"
    func checkInterrupted() throws {}
    func progress(_ value: Int, of max: Int) throws {}
}

/// A temporary data directory with SaveLatent and LoadLatent built for it.
private final class LatentFileSandbox {
    let base: String
    let directories: DataDirectories
    let save: NodeDefinition
    let load: NodeDefinition

    init(disableMetadata: Bool = false) throws {
        base = NSTemporaryDirectory() + "loom-latent-files-" + UUID().uuidString
        directories = DataDirectories(base: base)
        try directories.createLayout()
        let env = NodeEnvironment(directories: directories, disableMetadata: disableMetadata)
        save = LatentFileNodes.saveDefinition(env)
        load = LatentFileNodes.loadDefinition(env)
    }

    deinit { try? FileManager.default.removeItem(atPath: base) }

    /// Runs SaveLatent (the prefix defaults to the widget's default); returns its UI dict.
    func runSave(_ samples: Tensor, prefix: String = "latents/ComfyUI", prompt: JSONValue = .null, extra: JSONValue? = nil) throws -> JSONObject {
        let inputs: [String: NodeValue] = ["samples": .object(Latent(samples: samples)), "filename_prefix": .string(prefix)]
        let result = try save.execute(NodeInvocation(inputs: inputs, prompt: prompt, extraPNGInfo: extra, context: LatentFileContext()))
        #expect(result.outputs.isEmpty)
        return try #require(result.ui)
    }

    /// Runs LoadLatent on `name`; returns the samples.
    func runLoad(_ name: String) throws -> Tensor {
        let result = try load.execute(NodeInvocation(inputs: ["latent": .string(name)], prompt: .null, extraPNGInfo: nil,
                                                     context: LatentFileContext()))
        #expect(result.outputs.count == 1)
        guard case .object(let value) = try #require(result.outputs.first), let latent = value as? Latent else {
            throw NodeError("LoadLatent returned something other than a LATENT")
        }
        return latent.samples
    }

    /// The node error LoadLatent raises for `name`, or nil when it succeeds.
    func loadError(_ name: String) -> NodeError? {
        do {
            _ = try runLoad(name)
            return nil
        } catch let error as NodeError {
            return error
        } catch {
            return NodeError("unexpected error \(error)", type: "unexpected")
        }
    }

    func writeInput(_ name: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: directories.input + "/" + name))
    }

    func copyToInput(_ outputRelative: String, as name: String) throws {
        try FileManager.default.copyItem(atPath: directories.output + "/" + outputRelative, toPath: directories.input + "/" + name)
    }
}

/// Deterministic test values with a spread of signs, magnitudes and special bit patterns.
private func sampleTensor(_ shape: [Int]) -> Tensor {
    let count = shape.reduce(1, *)
    var values = (0..<count).map { i in Float(sin(Double(i) * 1.7) * pow(10, Double(i % 7) - 3)) }
    values[0] = -0.0
    if count > 2 { values[2] = .leastNonzeroMagnitude }
    return Tensor(shape: shape, scalars: values)
}

private func sameBits(_ a: Tensor, _ b: Tensor) -> Bool {
    let x = a.scalars, y = b.scalars
    return a.shape == b.shape && x.count == y.count && zip(x, y).allSatisfy { $0.bitPattern == $1.bitPattern }
}

/// The file entry of a SaveLatent UI dict.
private func savedFile(_ ui: JSONObject) throws -> (filename: String, subfolder: String, type: String) {
    let list = try #require(ui["latents"]?.arrayValue)
    #expect(list.count == 1)
    let entry = try #require(list.first?.objectValue)
    return (try #require(entry["filename"]?.stringValue), try #require(entry["subfolder"]?.stringValue),
            try #require(entry["type"]?.stringValue))
}

struct LatentFileNodeTests {
    @Test func saveThenLoadGivesTheSameSamplesBitForBit() throws {
        let box = try LatentFileSandbox()
        let samples = sampleTensor([2, 4, 3, 5])
        let ui = try box.runSave(samples)
        let (filename, subfolder, type) = try savedFile(ui)
        #expect(filename == "ComfyUI_00001_.latent" && subfolder == "latents" && type == "output")
        #expect(ui.keys == ["latents"])

        try box.copyToInput("latents/" + filename, as: "resume.latent")
        #expect(sameBits(try box.runLoad("resume.latent"), samples))
        // Straight from the output folder through an annotated name, as a later prompt can.
        #expect(sameBits(try box.runLoad("latents/\(filename) [output]"), samples))
    }

    @Test func savedFileHasComfyUILayout() throws {
        let box = try LatentFileSandbox()
        let samples = sampleTensor([1, 4, 2, 2]).permuted([0, 1, 3, 2])  // a non-contiguous view
        let prompt: JSONValue = .object(JSONObject([("3", .object(JSONObject([("class_type", .string("KSampler"))])))]))
        let extra: JSONValue = .object(JSONObject([("workflow", .object(JSONObject([("nodes", .array([.string("né")]))])))]))
        let (filename, _, _) = try savedFile(try box.runSave(samples, prompt: prompt, extra: extra))
        let file = try SafetensorsFile(path: box.directories.output + "/latents/" + filename)

        let tensor = try #require(file["latent_tensor"])
        #expect(tensor.dtype == .f32 && tensor.shape == [1, 4, 2, 2])
        #expect(try file.floats("latent_tensor") == samples.scalars)
        let version = try #require(file["latent_format_version_0"])
        #expect(version.dtype == .f32 && version.shape == [0] && version.byteCount == 0)
        #expect(file.dataStart % 8 == 0)
        #expect(file.metadata == ["prompt": #"{"3": {"class_type": "KSampler"}}"#, "workflow": #"{"nodes": ["n\u00e9"]}"#])
    }

    @Test func metadataIsOmittedWhenDisabled() throws {
        let box = try LatentFileSandbox(disableMetadata: true)
        let prompt: JSONValue = .object(JSONObject([("1", .int(1))]))
        let (filename, _, _) = try savedFile(try box.runSave(sampleTensor([1, 4, 1, 1]), prompt: prompt,
                                                             extra: .object(JSONObject([("workflow", .int(2))]))))
        let path = box.directories.output + "/latents/" + filename
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let headerLength = Int(bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        let header = String(decoding: bytes[8..<(8 + headerLength)], as: UTF8.self)
        #expect(!header.contains("__metadata__"))
        #expect(try SafetensorsFile(path: path).metadata.isEmpty)
    }

    @Test func promptlessSaveWritesAnEmptyPromptString() throws {
        let box = try LatentFileSandbox()
        let (filename, _, _) = try savedFile(try box.runSave(sampleTensor([1, 4, 1, 1])))
        let file = try SafetensorsFile(path: box.directories.output + "/latents/" + filename)
        #expect(file.metadata == ["prompt": ""])
    }

    @Test func counterIncrementsAndPrefixSetsTheSubfolder() throws {
        let box = try LatentFileSandbox()
        let samples = sampleTensor([1, 4, 2, 2])
        #expect(try savedFile(try box.runSave(samples)).filename == "ComfyUI_00001_.latent")
        #expect(try savedFile(try box.runSave(samples)).filename == "ComfyUI_00002_.latent")
        let custom = try savedFile(try box.runSave(samples, prefix: "runs/a/step"))
        #expect(custom.filename == "step_00001_.latent" && custom.subfolder == "runs/a")
        #expect(try savedFile(try box.runSave(samples)).filename == "ComfyUI_00003_.latent")
        let files = try FileManager.default.contentsOfDirectory(atPath: box.directories.output + "/latents").sorted()
        #expect(files == ["ComfyUI_00001_.latent", "ComfyUI_00002_.latent", "ComfyUI_00003_.latent"])
    }

    @Test func prefixOutsideTheOutputFolderIsRefused() throws {
        let box = try LatentFileSandbox()
        do {
            _ = try box.runSave(sampleTensor([1, 4, 1, 1]), prefix: "../escape")
            Issue.record("a prefix outside the output folder was accepted")
        } catch let error as NodeError {
            #expect(error.type == "loom.PathError")
        }
        #expect(!FileManager.default.fileExists(atPath: box.base + "/escape_00001_.latent"))
    }

    @Test func fileWithoutVersionKeyIsScaledBack() throws {
        let box = try LatentFileSandbox()
        let stored = sampleTensor([1, 4, 2, 3])
        var writer = SafetensorsWriter(metadata: ["prompt": ""])
        try writer.add("latent_tensor", tensor: stored)
        try box.writeInput("old.latent", writer.serialized())
        let loaded = try box.runLoad("old.latent")
        #expect(loaded.shape == stored.shape)
        let worst = zip(loaded.scalars, stored.scalars).reduce(Double(0)) { worst, pair in
            let expected = Double(pair.1) / 0.18215
            return max(worst, abs(Double(pair.0) - expected) / max(abs(expected), 1e-30))
        }
        #expect(worst < 1e-6, "relative error \(worst)")
        #expect(!sameBits(loaded, stored))
    }

    @Test func halfPrecisionTensorIsWidened() throws {
        let box = try LatentFileSandbox()
        var writer = SafetensorsWriter()
        // F16 1.0, -2.0, 0.5, 65504 (little-endian).
        try writer.add("latent_tensor", dtype: .f16, shape: [1, 1, 2, 2], bytes: [0x00, 0x3C, 0x00, 0xC0, 0x00, 0x38, 0xFF, 0x7B])
        try writer.add("latent_format_version_0", floats: [], shape: [0])
        try box.writeInput("half.latent", writer.serialized())
        let loaded = try box.runLoad("half.latent")
        #expect(loaded.dtype == .float32 && loaded.shape == [1, 1, 2, 2])
        #expect(loaded.scalars == [1, -2, 0.5, 65504])
    }

    @Test func truncatedAndForeignFilesAreNodeErrors() throws {
        let box = try LatentFileSandbox()
        let (filename, _, _) = try savedFile(try box.runSave(sampleTensor([1, 4, 8, 8])))
        let full = [UInt8](try Data(contentsOf: URL(fileURLWithPath: box.directories.output + "/latents/" + filename)))
        try box.writeInput("cut.latent", Array(full.prefix(full.count - 5)))
        try box.writeInput("header-cut.latent", Array(full.prefix(20)))
        try box.writeInput("tiny.latent", [1, 2, 3])
        try box.writeInput("empty.latent", [])
        try box.writeInput("text.latent", Array("this is not a safetensors file at all".utf8))
        try box.writeInput("png.latent", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + [UInt8](repeating: 0, count: 32))
        for name in ["cut.latent", "header-cut.latent", "tiny.latent", "empty.latent", "text.latent", "png.latent"] {
            let error = box.loadError(name)
            #expect(error?.type == "loom.LatentFileError", "\(name): \(String(describing: error))")
            #expect(error?.message.contains(name) == true)
            #expect(error?.message.contains(box.base) == false)
        }
    }

    @Test func unusableLatentTensorsAreRefusedClearly() throws {
        let box = try LatentFileSandbox()
        func file(_ build: (inout SafetensorsWriter) throws -> Void) throws -> [UInt8] {
            var writer = SafetensorsWriter()
            try build(&writer)
            try writer.add("latent_format_version_0", floats: [], shape: [0])
            return writer.serialized()
        }
        try box.writeInput("ints.latent", file { try $0.add("latent_tensor", tensor: Tensor(shape: [1, 1, 1, 2], int64s: [1, 2])) })
        try box.writeInput("rank2.latent", file { try $0.add("latent_tensor", floats: [1, 2, 3, 4], shape: [2, 2]) })
        try box.writeInput("zero.latent", file { try $0.add("latent_tensor", floats: [], shape: [1, 4, 0, 8]) })
        try box.writeInput("missing.latent", file { try $0.add("other", floats: [1], shape: [1]) })
        let expectations = [("ints.latent", "I64"), ("rank2.latent", "[2, 2]"), ("zero.latent", "[1, 4, 0, 8]"),
                            ("missing.latent", "no 'latent_tensor'")]
        for (name, detail) in expectations {
            let error = box.loadError(name)
            #expect(error?.type == "loom.LatentFileError", "\(name): \(String(describing: error))")
            #expect(error?.message.contains(detail) == true, "\(name): \(String(describing: error))")
        }
    }

    @Test func validationAndFingerprintFollowTheFile() throws {
        let box = try LatentFileSandbox()
        try box.writeInput("a.latent", try LatentFileNodes.writer(sampleTensor([1, 4, 1, 1]), metadata: nil).serialized())
        let validate = try #require(box.load.validate)
        let fingerprint = try #require(box.load.fingerprint)
        #expect(box.load.validatedInputs == ["latent"])

        #expect(validate(["latent": .string("a.latent")]) == nil)
        #expect(validate([:]) == nil)
        #expect(validate(["latent": .string("nope.latent")])
                == ValidationFailure(inputName: "latent", reason: "Invalid latent file: nope.latent"))
        #expect(validate(["latent": .string("../outside.latent")])?.inputName == "latent")
        #expect(validate(["latent": .int(3)])?.inputName == "latent")

        let first = try #require(fingerprint(["latent": .string("a.latent")]))
        #expect(first == .string(try SHA256.hex(ofFile: box.directories.input + "/a.latent")))
        try box.writeInput("a.latent", try LatentFileNodes.writer(sampleTensor([1, 4, 1, 2]), metadata: nil).serialized())
        #expect(fingerprint(["latent": .string("a.latent")]) != first)
        #expect(fingerprint(["latent": .string("nope.latent")]) == nil)

        #expect(box.loadError("nope.latent") != nil)
        #expect(box.loadError("../outside.latent")?.type == "loom.PathError")
    }

    @Test func choicesListTopLevelLatentFilesSorted() throws {
        let box = try LatentFileSandbox()
        for name in ["b.latent", "B.latent", "a.latent", "note.txt", "image.png"] { try box.writeInput(name, [0]) }
        try FileManager.default.createDirectory(atPath: box.directories.input + "/dir.latent", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: box.directories.input + "/sub", withIntermediateDirectories: true)
        try Data([0]).write(to: URL(fileURLWithPath: box.directories.input + "/sub/c.latent"))
        try FileManager.default.createSymbolicLink(atPath: box.directories.input + "/link.latent",
                                                   withDestinationPath: box.directories.output)
        let spec = try #require(box.load.schema.input(named: "latent"))
        guard case .combo(let options) = spec.kind else {
            Issue.record("latent is not a combo")
            return
        }
        #expect(options.values() == [.string("B.latent"), .string("a.latent"), .string("b.latent")])
        #expect(box.save.schema.isOutputNode && box.save.schema.outputs.isEmpty)
        #expect(box.save.schema.hidden == [.prompt, .extraPNGInfo])
        #expect(box.load.schema.outputs.map(\.type) == ["LATENT"])
    }
}
