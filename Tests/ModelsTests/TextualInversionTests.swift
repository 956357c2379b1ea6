import LoomTestSupport
import Checkpoints
import Foundation
import Models
import Testing
import TensorCore
import Tokenizers

/// Writes a safetensors file by hand: 8-byte little-endian header length, JSON header, F32 data.
private func writeSafetensors(_ tensors: [(name: String, shape: [Int], values: [Float])], to url: URL) throws {
    var entries = [String]()
    var data = Data()
    for tensor in tensors {
        let start = data.count
        for value in tensor.values { withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        let shape = tensor.shape.map(String.init).joined(separator: ",")
        entries.append(#""\#(tensor.name)":{"dtype":"F32","shape":[\#(shape)],"data_offsets":[\#(start),\#(data.count)]}"#)
    }
    var header = Data(("{" + entries.joined(separator: ",") + "}").utf8)
    while header.count % 8 != 0 { header.append(0x20) }
    var file = Data()
    withUnsafeBytes(of: UInt64(header.count).littleEndian) { file.append(contentsOf: $0) }
    file.append(header)
    file.append(data)
    try file.write(to: url)
}

/// A temporary folder removed when the value goes away.
private final class TemporaryFolder {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("loom-ti-\(UUID().uuidString)")
    init() throws { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(at: url) }
    func file(_ name: String) -> URL { url.appendingPathComponent(name) }
}

/// An embedding table for the tokenizer: name → (vector count, key).
private struct FixedEmbeddings: EmbeddingProvider {
    var table: [String: (count: Int, key: String)]
    func embedding(named name: String) -> EmbeddingLookup {
        table[name].map { .found(vectorCount: $0.count, key: $0.key) } ?? .missing
    }
}

@Suite("Textual-inversion embeddings")
struct TextualInversionLoaderTests {
    static func ramp(_ count: Int, width: Int = 768) -> [Float] { (0..<(count * width)).map { Float($0) / 1000 } }

    @Test func loadsA1111EmbParams() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("a.safetensors")
        try writeSafetensors([("emb_params", [3, 768], Self.ramp(3))], to: path)
        let vectors = try TextualInversion.load(path: path.path)
        #expect(vectors.shape == [3, 768])
        #expect(vectors.scalars == Self.ramp(3))
        #expect(try TextualInversion.vectorCount(path: path.path) == 3)
    }

    @Test func choosesTheTensorAsComfyUIDoes() throws {
        let folder = try TemporaryFolder()
        // clip_l wins over others (an SDXL embedding holds clip_g and clip_l).
        try writeSafetensors([("clip_g", [2, 1280], Self.ramp(2, width: 1280)), ("clip_l", [2, 768], Self.ramp(2))],
                             to: folder.file("xl.safetensors"))
        #expect(try TextualInversion.load(path: folder.file("xl.safetensors").path).shape == [2, 768])
        // A converted .pt: string_to_param.*.
        try writeSafetensors([("string_to_param.*", [4, 768], Self.ramp(4)), ("step", [1], [0])], to: folder.file("pt.safetensors"))
        #expect(try TextualInversion.vectorCount(path: folder.file("pt.safetensors").path) == 4)
        // A single 1-D tensor is one vector.
        try writeSafetensors([("whatever", [768], Self.ramp(1))], to: folder.file("one.safetensors"))
        #expect(try TextualInversion.load(path: folder.file("one.safetensors").path).shape == [1, 768])
        // Several unknown tensors: refused, naming what was found.
        try writeSafetensors([("a", [768], Self.ramp(1)), ("b", [768], Self.ramp(1))], to: folder.file("two.safetensors"))
        #expect { try TextualInversion.load(path: folder.file("two.safetensors").path) } throws: {
            ($0 as? TextualInversionError)?.code == .noEmbeddingTensor && "\($0)".contains("[\"a\", \"b\"]")
        }
    }

    @Test func refusesWrongWidthAndPickleFiles() throws {
        let folder = try TemporaryFolder()
        try writeSafetensors([("emb_params", [2, 1024], Self.ramp(2, width: 1024))], to: folder.file("sd2.safetensors"))
        #expect { try TextualInversion.load(path: folder.file("sd2.safetensors").path) } throws: {
            ($0 as? TextualInversionError)?.code == .wrongWidth && "\($0)".contains("768")
        }
        try Data("PK\u{3}\u{4}rest of a zip".utf8).write(to: folder.file("old.pt"))
        try Data("PK\u{3}\u{4}rest of a zip".utf8).write(to: folder.file("renamed.safetensors"))
        for name in ["old.pt", "renamed.safetensors"] {
            #expect { try TextualInversion.load(path: folder.file(name).path) } throws: {
                ($0 as? TextualInversionError)?.code == .unsupportedFormat && "\($0)".contains("convert the embedding to .safetensors")
            }
        }
        try Data("garbage".utf8).write(to: folder.file("bad.safetensors"))
        #expect { try TextualInversion.load(path: folder.file("bad.safetensors").path) } throws: {
            ($0 as? TextualInversionError)?.code == .unreadableFile
        }
    }
}

/// Encoding with textual-inversion vectors on the reduced checkpoint: an embedding whose vectors are
/// the token-embedding rows of real words must encode exactly like those words.
@Suite("CLIP encoding with textual-inversion embeddings", .serialized)
struct TextualInversionEncodingTests {
    static func maxAbsDifference(_ a: Tensor, _ b: Tensor) -> Float {
        #expect(a.shape == b.shape)
        return zip(a.scalars, b.scalars).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    @Test("an embedding of word rows encodes as those words", arguments: [
        ("a embedding:foo photo", "a photograph of an photo"),
        ("(embedding:foo:1.3), red photo", "(photograph of an:1.3), red photo"),
    ])
    func embeddingEqualsWords(prompt: String, equivalent: String) throws {
        let checkpoint = try SafetensorsFile(path: try ModelFixtures.reduced())
        let encoder = try CLIPTextEncoder(checkpoint: checkpoint)
        let width = encoder.configuration.transformer.hiddenSize
        let baseTokenizer = try CLIPTokenizer()
        let words = baseTokenizer.encode("photograph of an")
        #expect(words == [8853, 539, 550])

        // The embedding file: the token-embedding rows of those words, written as F32.
        let table = try #require(encoder.parameters["embeddings.token_embedding.weight"]).contiguous(as: .float32).scalars
        let rows = words.flatMap { Array(table[($0 * width)..<(($0 + 1) * width)]) }
        let folder = try TemporaryFolder()
        let file = folder.file("foo.safetensors")
        try writeSafetensors([("emb_params", [words.count, width], rows)], to: file)

        let directories = EmbeddingDirectories(directories: [folder.url]) { try? TextualInversion.vectorCount(path: $0.path, width: width) }
        let tokenizer = try CLIPTokenizer(embeddings: directories)
        let (windows, missing) = tokenizer.tokenizeWithWeightsReporting(prompt)
        #expect(missing.isEmpty)
        let slots = windows.joined().filter { $0.embedding != nil }
        #expect(slots.map(\.embedding?.index) == [0, 1, 2])
        let key = try #require(slots.first?.embedding?.key)
        let embeddings = [key: try TextualInversion.load(path: key, width: width)]
        try encoder.checkEmbeddings(windows, embeddings: embeddings)

        // The same windows with the word ids in the embedding's slots, and the equivalent prompt's windows.
        let direct = windows.map { $0.map { token in
            token.embedding.map { TokenWeight(id: words[$0.index], weight: token.weight, wordIndex: token.wordIndex) } ?? token
        } }
        #expect(direct.map { $0.map(\.id) } == baseTokenizer.tokenizeWithWeights(equivalent).map { $0.map(\.id) })
        #expect(direct.map { $0.map(\.weight) } == baseTokenizer.tokenizeWithWeights(equivalent).map { $0.map(\.weight) })

        let backend = try testBackend()
        for layer in [CLIPOutputLayer.last, .stopAtClipLayer(-2, layerCount: encoder.configuration.transformer.numLayers)] {
            let withEmbedding = encoder.encode(windows, layer: layer, embeddings: embeddings, backend: backend)
            let withWords = encoder.encode(direct, layer: layer, backend: backend)
            let condDifference = Self.maxAbsDifference(withEmbedding.conditioning, withWords.conditioning)
            let pooledDifference = Self.maxAbsDifference(withEmbedding.pooled, withWords.pooled)
            print("TI equivalence '\(prompt)' \(layer): cond max |Δ| = \(condDifference), pooled max |Δ| = \(pooledDifference)")
            #expect(condDifference <= 1e-6)
            #expect(pooledDifference <= 1e-6)
        }

        // The vectors really are used: the placeholder id's own row gives something else.
        let placeholders = windows.map { $0.map { CLIPToken(id: $0.id, weight: $0.weight) } }
        let unreplaced = encoder.encode(placeholders, backend: backend)
        #expect(Self.maxAbsDifference(unreplaced.conditioning, encoder.encode(direct, backend: backend).conditioning) > 1e-3)
    }

    @Test func checkEmbeddingsReportsMissingVectors() throws {
        let checkpoint = try SafetensorsFile(path: try ModelFixtures.reduced())
        let encoder = try CLIPTextEncoder(checkpoint: checkpoint)
        let tokenizer = try CLIPTokenizer(embeddings: FixedEmbeddings(table: ["foo": (2, "foo-key")]))
        let windows = tokenizer.tokenizeWithWeights("a embedding:foo")
        #expect { try encoder.checkEmbeddings(windows, embeddings: [:]) } throws: {
            ($0 as? TextualInversionError)?.code == .missingEmbedding
        }
        let short = Tensor(shape: [1, 768], scalars: [Float](repeating: 0, count: 768))
        #expect { try encoder.checkEmbeddings(windows, embeddings: ["foo-key": short]) } throws: {
            ($0 as? TextualInversionError)?.code == .missingEmbedding
        }
        let narrow = Tensor(shape: [2, 4], scalars: [Float](repeating: 0, count: 8))
        #expect { try encoder.checkEmbeddings(windows, embeddings: ["foo-key": narrow]) } throws: {
            ($0 as? TextualInversionError)?.code == .wrongWidth
        }
    }
}
