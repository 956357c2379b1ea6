import Foundation
import Testing
import Tokenizers

/// A fixed table of embeddings: name → vector count; the key is `key:<name>`.
struct TableProvider: EmbeddingProvider {
    var counts: [String: Int]

    func embedding(named name: String) -> EmbeddingLookup {
        counts[name].map { .found(vectorCount: $0, key: "key:" + name) } ?? .missing
    }
}

/// `embedding:NAME` with an ``EmbeddingProvider``: ComfyUI's `tokenize_with_weights` puts one
/// tensor per vector in the token list; Loom puts placeholder tokens that reference the vectors.
@Suite struct EmbeddingTokenizationTests {
    let tokenizer: CLIPTokenizer
    let provider = TableProvider(counts: ["foo": 3, "big": 10, "one": 1])
    init() throws { tokenizer = try SharedTokenizer.server.get() }

    private func content(_ windows: [[TokenWeight]]) -> [[TokenWeight]] {
        windows.map { $0.filter { $0.wordIndex != 0 } }
    }

    private func slots(_ key: String, _ indices: Range<Int>, weight: Double = 1, word: Int) -> [TokenWeight] {
        indices.map { TokenWeight(id: 0, weight: weight, wordIndex: word, embedding: EmbeddingReference(key: key, index: $0)) }
    }

    @Test func foundEmbeddingBecomesOnePlaceholderPerVector() {
        let (windows, missing) = tokenizer.tokenizeWithWeightsReporting("a embedding:foo photo", embeddings: provider)
        #expect(missing.isEmpty)
        #expect(windows.count == 1 && windows[0].count == 77)
        let a = TokenWeight(id: 320, weight: 1, wordIndex: 1)
        let photo = TokenWeight(id: 1125, weight: 1, wordIndex: 3)
        #expect(tokenizer.encode("photo") == [1125])
        #expect(content(windows)[0] == [a] + slots("key:foo", 0..<3, word: 2) + [photo])
        #expect(windows[0][0].id == 49406 && windows[0][6].id == 49407 && windows[0][76].id == 49407)
        #expect(windows[0][2].embeddingRow! == (key: "key:foo", index: 0))
        #expect(windows[0][1].embeddingRow == nil)
    }

    @Test func providerGivenAtInitIsTheDefault() throws {
        let withProvider = try CLIPTokenizer(embeddings: provider)
        #expect(withProvider.tokenizeWithWeights("a embedding:foo photo")
            == tokenizer.tokenizeWithWeightsReporting("a embedding:foo photo", embeddings: provider).windows)
    }

    @Test func embeddingTakesTheSegmentWeight() {
        // The space between the two is a segment of its own: an empty group that still takes word 2.
        let windows = tokenizer.tokenizeWithWeightsReporting("(embedding:foo:1.2) ((embedding:one))", embeddings: provider).windows
        #expect(content(windows)[0] == slots("key:foo", 0..<3, weight: 1.2, word: 1)
            + slots("key:one", 0..<1, weight: 1.1 * 1.1, word: 3))
        // Square brackets are not emphasis in ComfyUI, and `[embedding:` does not start an embedding.
        let bracketed = tokenizer.tokenizeWithWeightsReporting("[embedding:one]", embeddings: provider).windows
        #expect(!bracketed.joined().contains { $0.embedding != nil })
    }

    @Test func trailingCommasAreStrippedAndKeptAsText() {
        let (windows, missing) = tokenizer.tokenizeWithWeightsReporting("embedding:foo, red", embeddings: provider)
        #expect(missing.isEmpty)
        let comma = tokenizer.encode(",")[0], red = tokenizer.encode("red")[0]
        #expect(content(windows)[0] == slots("key:foo", 0..<3, word: 1)
            + [TokenWeight(id: comma, weight: 1, wordIndex: 2), TokenWeight(id: red, weight: 1, wordIndex: 2)])
        // A newline before the identifier splits like a space; the name ends at white space.
        let split = tokenizer.tokenizeWithWeightsReporting("x\nembedding:foo,,", embeddings: provider).windows
        #expect(content(split)[0].map(\.id) == [tokenizer.encode("x")[0], 0, 0, 0, tokenizer.encode(",,")[0]])
    }

    @Test func missingEmbeddingsAreDroppedAndReported() {
        let prompt = "embedding:nope, cat embedding:foo embedding:gone dog"
        let (windows, missing) = tokenizer.tokenizeWithWeightsReporting(prompt, embeddings: provider)
        #expect(missing == ["nope", "gone"])
        #expect(content(windows)[0].map(\.id) == tokenizer.encode(", cat") + [0, 0, 0] + tokenizer.encode("dog"))
        // Without a provider every embedding is missing; the windows are today's.
        let (plain, allMissing) = tokenizer.tokenizeWithWeightsReporting(prompt)
        #expect(allMissing == ["nope", "foo", "gone"])
        #expect(plain == tokenizer.tokenizeWithWeights(prompt))
        #expect(!plain.joined().contains { $0.embedding != nil })
        // Plain-text syntax looks nothing up.
        let plainText = try? SharedTokenizer.plainText.get()
        #expect(plainText?.tokenizeWithWeightsReporting(prompt, embeddings: provider).missingEmbeddings == [])
    }

    @Test func smallEmbeddingMovesWholeToTheNextWindow() {
        let prompt = Array(repeating: "cat", count: 74).joined(separator: " ") + " embedding:foo"
        let windows = tokenizer.tokenizeWithWeightsReporting(prompt, embeddings: provider).windows
        #expect(windows.count == 2)
        #expect(content(windows).map(\.count) == [74, 3])
        #expect(windows[0][75].id == 49407 && windows[0][76].id == 49407)
        #expect(content(windows)[1] == slots("key:foo", 0..<3, word: 2))
    }

    @Test func largeEmbeddingIsSplitAtTheWindowBoundary() {
        // Ten vectors (≥ 8, ComfyUI's max_word_length) are cut where the window ends.
        let prompt = Array(repeating: "cat", count: 70).joined(separator: " ") + " embedding:big"
        let windows = tokenizer.tokenizeWithWeightsReporting(prompt, embeddings: provider).windows
        #expect(content(windows).map(\.count) == [75, 5])
        #expect(Array(content(windows)[0].suffix(5)) == slots("key:big", 0..<5, word: 2))
        #expect(content(windows)[1] == slots("key:big", 5..<10, word: 2))
        #expect(windows[0][76].id == 49407)
    }

    @Test func goldenPromptsAreUnchangedWhenNothingIsFound() throws {
        let empty = TableProvider(counts: [:])
        for golden in try ComfyGolden.load() {
            #expect(tokenizer.tokenizeWithWeightsReporting(golden.prompt, embeddings: empty).windows
                == tokenizer.tokenizeWithWeights(golden.prompt), "\(golden.name)")
        }
    }

    @Test func embeddingReferenceTakesPartInEquality() {
        let plain = TokenWeight(id: 0, weight: 1, wordIndex: 1)
        let slot = TokenWeight(id: 0, weight: 1, wordIndex: 1, embedding: EmbeddingReference(key: "k", index: 0))
        #expect(plain != slot)
        #expect(Set([plain, slot, slot]).count == 2)
    }

    @Test func directoriesResolveNamesAsComfyUI() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("loom-embeddings-\(UUID().uuidString)")
        let sub = root.appendingPathComponent("sub")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        for file in ["foo.safetensors", "foo.pt", "plain", "sub/bar.bin", "sub/nested.safetensors"] {
            try Data([1]).write(to: root.appendingPathComponent(file))
        }
        let outside = root.deletingLastPathComponent().appendingPathComponent("outside-\(UUID().uuidString).safetensors")
        try Data([1]).write(to: outside)
        defer { try? FileManager.default.removeItem(at: outside) }

        let directories = EmbeddingDirectories(directories: [root]) { $0.lastPathComponent == "plain" ? nil : 2 }
        #expect(directories.file(named: "foo")?.lastPathComponent == "foo.safetensors")
        #expect(directories.file(named: "foo.pt")?.lastPathComponent == "foo.pt")
        #expect(directories.file(named: "bar")?.path == sub.appendingPathComponent("bar.bin").path)
        #expect(directories.file(named: "sub/nested")?.lastPathComponent == "nested.safetensors")
        #expect(directories.file(named: "sub") == nil)  // a folder is not an embedding
        #expect(directories.file(named: "../" + outside.deletingPathExtension().lastPathComponent) == nil)
        #expect(directories.file(named: "") == nil)
        #expect(directories.embedding(named: "foo") == .found(vectorCount: 2, key: root.appendingPathComponent("foo.safetensors").standardizedFileURL.path))
        #expect(directories.embedding(named: "plain") == .missing)  // exists but unreadable
        #expect(directories.embedding(named: "none") == .missing)

        let (windows, missing) = tokenizer.tokenizeWithWeightsReporting("embedding:bar embedding:none", embeddings: directories)
        #expect(missing == ["none"])
        #expect(content(windows)[0].map(\.embedding?.index) == [0, 1])
    }
}
