import Foundation
import Tokenizers
import Workflow

/// ComfyUI 0.3.64's `tokenize_with_weights` output for 28 prompts, read from the shared fixture
/// `comfy_sd15_components_s0/tokenizer/tokenize_with_weights.json`.
struct ComfyGolden {
    struct Window {
        var ids: [Int]
        var weights: [Double]
        var wordIDs: [Int]
        var pieces: [String]
    }

    struct Case {
        var name: String
        var prompt: String
        /// The server's result (embeddings folder present).
        var windows: [Window]
        /// The result with `embedding_directory=None`, where the fixture records it.
        var windowsWithoutEmbeddingDirectory: [Window]?
    }

    struct FixtureError: Error, CustomStringConvertible {
        var description: String
    }

    static let path: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("../shared/fixtures/comfy_sd15_components_s0/tokenizer/tokenize_with_weights.json")
        .standardizedFileURL

    /// - Throws: ``FixtureError`` when the fixture is missing or not in the expected shape.
    static func load() throws -> [Case] {
        guard let data = FileManager.default.contents(atPath: path.path) else {
            throw FixtureError(description: "golden fixture missing: \(path.path)")
        }
        let root = try JSONValue.parse(data)
        guard let cases = root["cases"]?.arrayValue else { throw FixtureError(description: "no 'cases' array") }
        return try cases.map { entry in
            guard let name = entry["name"]?.stringValue, let prompt = entry["prompt"]?.stringValue,
                let windows = entry["windows"]
            else { throw FixtureError(description: "malformed case \(entry)") }
            return Case(
                name: name, prompt: prompt, windows: try parseWindows(windows),
                windowsWithoutEmbeddingDirectory: try entry["windows_if_embedding_directory_is_None"].map(parseWindows))
        }
    }

    private static func parseWindows(_ value: JSONValue) throws -> [Window] {
        guard let array = value.arrayValue else { throw FixtureError(description: "windows is not an array") }
        return try array.map { window in
            guard let ids = window["ids"]?.arrayValue?.compactMap({ $0.int64Value.map(Int.init) }),
                let weights = window["weights"]?.arrayValue?.compactMap(\.doubleValue),
                let wordIDs = window["word_ids"]?.arrayValue?.compactMap({ $0.int64Value.map(Int.init) }),
                let pieces = window["pieces"]?.arrayValue?.compactMap(\.stringValue),
                [weights.count, wordIDs.count, pieces.count].allSatisfy({ $0 == ids.count })
            else { throw FixtureError(description: "malformed window") }
            return Window(ids: ids, weights: weights, wordIDs: wordIDs, pieces: pieces)
        }
    }
}
