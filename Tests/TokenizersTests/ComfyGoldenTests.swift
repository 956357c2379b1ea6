import Testing
import Tokenizers

/// Every golden prompt must give ComfyUI's ids, weights, word indices and windows exactly.
@Suite struct ComfyGoldenTests {
    @Test func fixtureHasAllPrompts() throws {
        let cases = try ComfyGolden.load()
        #expect(cases.count == 28)
    }

    @Test func serverTokenizationMatchesComfyUI() throws {
        let tokenizer = try SharedTokenizer.server.get()
        var matched = 0
        let cases = try ComfyGolden.load()
        for golden in cases {
            if check(tokenizer.tokenizeWithWeights(golden.prompt), golden.windows, golden.name, tokenizer) {
                matched += 1
            }
        }
        #expect(matched == cases.count, "\(matched) of \(cases.count) golden prompts match")
    }

    @Test func plainTextEmbeddingsMatchComfyUIWithoutEmbeddingDirectory() throws {
        let tokenizer = try SharedTokenizer.plainText.get()
        let cases = try ComfyGolden.load()
        var checked = 0
        for golden in cases {
            let expected = golden.windowsWithoutEmbeddingDirectory ?? golden.windows
            if golden.windowsWithoutEmbeddingDirectory != nil { checked += 1 }
            _ = check(tokenizer.tokenizeWithWeights(golden.prompt), expected, golden.name, tokenizer)
        }
        #expect(checked == 2)
    }

    /// Records one issue per mismatching window; returns whether everything matched.
    private func check(_ actual: [[TokenWeight]], _ expected: [ComfyGolden.Window], _ name: String,
                       _ tokenizer: CLIPTokenizer) -> Bool {
        guard actual.count == expected.count else {
            Issue.record("\(name): \(actual.count) windows, ComfyUI has \(expected.count)")
            return false
        }
        var ok = true
        for (index, (window, golden)) in zip(actual, expected).enumerated() {
            let ids = window.map(\.id), weights = window.map(\.weight), words = window.map(\.wordIndex)
            if ids != golden.ids {
                Issue.record("\(name) window \(index): ids \(ids.map { tokenizer.piece(for: $0) ?? "?" }) != \(golden.pieces)")
                ok = false
            }
            if weights != golden.weights {
                Issue.record("\(name) window \(index): weights \(weights) != \(golden.weights)")
                ok = false
            }
            if words != golden.wordIDs {
                Issue.record("\(name) window \(index): word ids \(words) != \(golden.wordIDs)")
                ok = false
            }
            let pieces = ids.map { tokenizer.piece(for: $0) ?? "?" }
            if ids == golden.ids, pieces != golden.pieces {
                Issue.record("\(name) window \(index): vocabulary pieces differ")
                ok = false
            }
        }
        return ok
    }
}
