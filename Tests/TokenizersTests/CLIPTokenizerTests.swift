import Testing
import Tokenizers

@Suite struct CLIPTokenizerTests {
    let tokenizer: CLIPTokenizer
    init() throws { tokenizer = try SharedTokenizer.server.get() }

    private func pieces(_ text: String) -> [String] { tokenizer.encode(text).map { tokenizer.piece(for: $0) ?? "?" } }

    /// The content tokens (start, end and padding removed) of each window.
    private func content(_ windows: [[TokenWeight]]) -> [[TokenWeight]] {
        windows.map { $0.filter { $0.wordIndex != 0 } }
    }

    @Test func vocabularyAndSpecialTokens() {
        #expect(tokenizer.vocabularySize == 49408)
        #expect(tokenizer.startToken == 49406)
        #expect(tokenizer.endToken == 49407)
        #expect(tokenizer.piece(for: 49406) == "<|startoftext|>")
        #expect(tokenizer.piece(for: 49408) == nil)
    }

    @Test func plainEncode() {
        #expect(tokenizer.encode("a photograph of an astronaut riding a horse") == [320, 8853, 539, 550, 18376, 6765, 320, 4558])
        #expect(tokenizer.encode("") == [])
        #expect(tokenizer.encode(" \t\n ") == [])
        #expect(pieces("it's 42!?") == ["it</w>", "'s</w>", "4</w>", "2</w>", "!?</w>"])
        #expect(pieces("x<|endoftext|>y") == ["x</w>", "<|endoftext|>", "y</w>"])
    }

    @Test func unicodeNormalisation() {
        // NFC: a decomposed é tokenises like the precomposed one; lowercasing applies to accents too.
        #expect(tokenizer.encode("cafe\u{301}") == tokenizer.encode("café"))
        #expect(tokenizer.encode("CAFÉ") == tokenizer.encode("café"))
        #expect(pieces("café") == ["cafÃ©</w>"])
        // Every byte of a 4-byte emoji is covered by the byte-level alphabet.
        #expect(pieces("🚀") == ["ðŁļĢ</w>"])
        // Non-breaking and ideographic spaces separate words like ASCII spaces.
        #expect(tokenizer.encode("red\u{00A0}car\u{3000}x") == tokenizer.encode("red car x"))
    }

    @Test func emptyPromptIsOneWindowOfStartEndAndPadding() {
        for prompt in ["", "   ", "()", "embedding:nothing"] {
            let windows = tokenizer.tokenizeWithWeights(prompt)
            #expect(windows.count == 1, "\(prompt)")
            #expect(windows[0].map(\.id) == [49406] + Array(repeating: 49407, count: 76), "\(prompt)")
            #expect(windows[0].allSatisfy { $0.weight == 1.0 && $0.wordIndex == 0 }, "\(prompt)")
        }
    }

    @Test func longPromptFillsSeveralWindows() {
        let windows = tokenizer.tokenizeWithWeights(Array(repeating: "cat", count: 200).joined(separator: " "))
        #expect(windows.count == 3)
        #expect(windows.allSatisfy { $0.count == 77 && $0.first?.id == 49406 })
        #expect(content(windows).map(\.count) == [75, 75, 50])
        #expect(windows[0][76].id == 49407 && windows[2][51].id == 49407)
        #expect(content(windows).joined().allSatisfy { $0.id == 2368 && $0.wordIndex == 1 })
    }

    @Test func shortGroupMovesWholeToNextWindow() {
        let prompt = Array(repeating: "cat", count: 74).joined(separator: " ") + " (dog dog:1.2)"
        let windows = tokenizer.tokenizeWithWeights(prompt)
        #expect(content(windows).map(\.count) == [74, 2])
        #expect(windows[0][75].id == 49407 && windows[0][76].id == 49407)
        #expect(content(windows)[1].map(\.weight) == [1.2, 1.2])
        #expect(content(windows)[1].map(\.wordIndex) == [2, 2])
    }

    @Test func escapedParenthesesAreText() {
        let windows = content(tokenizer.tokenizeWithWeights(#"\(a\) (b\))"#))
        #expect(windows[0].map { tokenizer.piece(for: $0.id) } == ["(</w>", "a</w>", ")</w>", "b</w>", ")</w>"])
        #expect(windows[0].map(\.weight) == [1.0, 1.0, 1.0, 1.1, 1.1])
    }

    @Test func emphasisWeights() {
        func weights(_ prompt: String) -> [Double] { content(tokenizer.tokenizeWithWeights(prompt))[0].map(\.weight) }
        #expect(weights("((a:1.5))") == [1.5])
        #expect(weights("(((a)))") == [1.0 * 1.1 * 1.1 * 1.1])
        #expect(weights("((a):0.5)") == [0.5 * 1.1])
        #expect(weights("(a:1e1)") == [10])
        #expect(weights("(a:1_0)") == [10])
        #expect(weights("(a: 2 )") == [2])
        #expect(weights("(a:-.5)") == [-0.5])
        #expect(weights("(a:)") == [1.1, 1.1])  // "a:" stays text
        let notAFloat = weights("(a:1__0)")  // not a Python float: the whole "a:1__0" is text
        #expect(notAFloat.count > 3 && notAFloat.allSatisfy { $0 == 1.1 })
        #expect(weights("(:2)") == [1.1, 1.1])  // a colon at index 0 is not a weight
        #expect(weights("(a:inf)") == [.infinity])
        #expect(weights("a) b (c") == [1.0, 1.0, 1.0, 1.0, 1.0])  // unbalanced: all text
    }

    @Test func embeddingSyntax() throws {
        func texts(_ prompt: String, _ t: CLIPTokenizer) -> [String] {
            content(t.tokenizeWithWeights(prompt))[0].map { t.piece(for: $0.id) ?? "?" }
        }
        let plain = try SharedTokenizer.plainText.get()
        #expect(texts("embedding:foo,bar baz", tokenizer) == ["baz</w>"])  // the name is "foo,bar"
        #expect(texts("embedding:foo,, bar", tokenizer) == [",,</w>", "bar</w>"])  // trailing commas kept as text
        #expect(texts("x embedding:", tokenizer) == ["x</w>"])
        #expect(texts("x\nembedding:y z", tokenizer) == ["x</w>", "z</w>"])
        // Only a piece that starts with the identifier (or follows a space/newline) is an embedding.
        #expect(texts("xembedding:y", tokenizer) == texts("xembedding:y", plain))
        #expect(texts("embedding:y", plain) == ["embed", "ding</w>", ":</w>", "y</w>"])
    }

    @Test func concurrentUseGivesTheSameResult() async {
        let prompts = (0..<32).map { "prompt number \($0), (detailed:1.\($0 % 10)), photograph" }
        let expected = prompts.map { tokenizer.tokenizeWithWeights($0) }
        let shared = tokenizer
        let results = await withTaskGroup(of: (Int, [[TokenWeight]]).self) { group in
            for (i, prompt) in prompts.enumerated() { group.addTask { (i, shared.tokenizeWithWeights(prompt)) } }
            var out = [[[TokenWeight]]](repeating: [], count: prompts.count)
            for await (i, windows) in group { out[i] = windows }
            return out
        }
        #expect(results == expected)
    }
}
