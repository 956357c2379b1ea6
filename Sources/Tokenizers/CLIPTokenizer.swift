import Foundation

/// The CLIP ViT-L/14 byte-level BPE tokenizer with ComfyUI's prompt weighting, as used by
/// SD1.x text encoding.
///
/// ``encode(_:)`` gives the plain BPE ids of a text, like the Hugging Face `CLIPTokenizer`
/// without its start/end tokens. ``tokenizeWithWeights(_:)`` reproduces ComfyUI's
/// `SD1Tokenizer.tokenize_with_weights`: emphasis parsing (`(text)`, `(text:1.3)`, `\(`),
/// `embedding:NAME` handling, one BPE call per weighted segment, and packing into 77-token
/// windows (start token, 75 tokens, end token, padded with the end token).
///
/// The tables are immutable after `init`; the per-word BPE cache is behind a lock, so one
/// instance can be shared freely.
public final class CLIPTokenizer: Sendable {
    /// Tokens per window, start and end included.
    public static let windowLength = 77

    /// `<|startoftext|>` (49406 for CLIP).
    public let startToken: Int
    /// `<|endoftext|>` (49407 for CLIP); also the padding token of SD1.x windows.
    public let endToken: Int
    /// How `embedding:NAME` is treated.
    public let embeddingSyntax: EmbeddingSyntax
    /// Where `embedding:NAME` is looked up by default; `nil`: every embedding is missing.
    public let embeddings: (any EmbeddingProvider)?

    private let vocabulary: CLIPVocabulary
    private let encoder: BytePairEncoder
    private let packer: TokenWindowPacker

    /// Loads the CLIP vocabulary bundled with this module.
    /// - Parameters:
    ///   - embeddingSyntax: treatment of `embedding:NAME`; the default is what the ComfyUI server does.
    ///   - embeddings: where embeddings are looked up; `nil` treats every one as missing.
    /// - Throws: ``CLIPTokenizerError`` when the bundled files are missing or malformed.
    public convenience init(embeddingSyntax: EmbeddingSyntax = .dropMissing,
                            embeddings: (any EmbeddingProvider)? = nil) throws {
        guard let directory = Bundle.module.url(forResource: "clip", withExtension: nil) else {
            throw CLIPTokenizerError(.resourcesMissing, "the clip resource folder is not in the Tokenizers bundle")
        }
        try self.init(directory: directory, embeddingSyntax: embeddingSyntax, embeddings: embeddings)
    }

    /// Loads `vocab.json` and `merges.txt` from `directory`.
    /// - Throws: ``CLIPTokenizerError`` when a file is missing or malformed.
    public init(directory: URL, embeddingSyntax: EmbeddingSyntax = .dropMissing,
                embeddings: (any EmbeddingProvider)? = nil) throws {
        let vocabulary = try CLIPVocabulary(directory: directory)
        let specials = CLIPTextPreprocessor.specialTokens
        guard let start = vocabulary.idsByToken[specials[0]], let end = vocabulary.idsByToken[specials[1]] else {
            throw CLIPTokenizerError(.malformedVocabulary, "vocab.json lacks \(specials.joined(separator: " / "))")
        }
        self.vocabulary = vocabulary
        self.encoder = BytePairEncoder(vocabulary: vocabulary)
        self.startToken = start
        self.endToken = end
        self.embeddingSyntax = embeddingSyntax
        self.embeddings = embeddings
        self.packer = TokenWindowPacker(
            windowLength: Self.windowLength, startToken: start, endToken: end, padToken: end)
    }

    /// Number of entries in the vocabulary (49408 for CLIP).
    public var vocabularySize: Int { vocabulary.tokensByID.count }

    /// The vocabulary string of `id` (byte-level alphabet, `</w>` marking a word end).
    public func piece(for id: Int) -> String? {
        vocabulary.tokensByID.indices.contains(id) ? vocabulary.tokensByID[id] : nil
    }

    /// The BPE ids of `text`, without start and end tokens.
    ///
    /// The text is normalised (NFC, white space collapsed, lowercased) and pre-tokenised with
    /// CLIP's pattern; `<|startoftext|>` and `<|endoftext|>` written in the text become their ids.
    public func encode(_ text: String) -> [Int] {
        var ids = [Int]()
        for piece in CLIPTextPreprocessor.pieces(of: text) {
            switch piece {
            case .word(let word): ids += encoder.encode(word: word)
            case .special(let token): ids.append(vocabulary.idsByToken[token] ?? endToken)
            }
        }
        return ids
    }

    /// ComfyUI's `tokenize_with_weights` for SD1.x: windows of exactly 77 weighted tokens.
    ///
    /// Always returns at least one window; an empty prompt gives start, end and padding. Embeddings
    /// are looked up in ``embeddings``; missing ones are dropped silently (see
    /// ``tokenizeWithWeightsReporting(_:embeddings:)`` for the names).
    /// - Returns: the windows in order; `wordIndex` numbers the token groups (one per weighted
    ///   segment, or per piece of it around `embedding:`), starting at 1.
    public func tokenizeWithWeights(_ text: String) -> [[TokenWeight]] {
        tokenizeWithWeightsReporting(text).windows
    }

    /// ``tokenizeWithWeights(_:)`` that also says which `embedding:NAME` words were dropped.
    ///
    /// An embedding that is found contributes one token per vector, in the prompt's place, with
    /// ``TokenWeight/embedding`` set and ``TokenWeight/embeddingPlaceholderID`` as its id; word
    /// grouping and window packing treat those tokens like any other (ComfyUI puts the tensors in
    /// the token list). Text after the name (`embedding:name, more`) is its own group.
    /// - Parameters:
    ///   - embeddings: where to look embeddings up for this call; `nil` uses the tokenizer's own.
    /// - Returns: the windows, and the names of missing embeddings in prompt order (ComfyUI logs
    ///   `embedding:NAME does not exist, ignoring` for each). With ``EmbeddingSyntax/plainText``
    ///   nothing is looked up and nothing is missing.
    public func tokenizeWithWeightsReporting(_ text: String, embeddings: (any EmbeddingProvider)? = nil)
        -> (windows: [[TokenWeight]], missingEmbeddings: [String]) {
        let provider = embeddings ?? self.embeddings
        let lookup: ((String) -> EmbeddingLookup)? = provider.map { provider in { provider.embedding(named: $0) } }
        var groups = [[TokenWeight]]()
        var missing = [String]()
        for segment in PromptWeightParser.segments(of: text) {
            for piece in EmbeddingSplitter.pieces(in: segment.text, syntax: embeddingSyntax, lookup: lookup, missing: &missing) {
                switch piece {
                case .text(let text):
                    groups.append(encode(text).map { TokenWeight(id: $0, weight: segment.weight) })
                case .embedding(let key, let count):
                    groups.append((0..<count).map {
                        TokenWeight(id: TokenWeight.embeddingPlaceholderID, weight: segment.weight,
                                    embedding: EmbeddingReference(key: key, index: $0))
                    })
                }
            }
        }
        return (packer.pack(groups), missing)
    }
}
