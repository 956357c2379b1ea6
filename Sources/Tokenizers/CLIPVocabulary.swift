import Foundation

/// The CLIP BPE tables: token strings ↔ ids and the ranked merge list, keyed by ids.
///
/// Loaded from the Hugging Face form of OpenAI CLIP's vocabulary (`vocab.json`, `merges.txt`).
struct CLIPVocabulary: Sendable {
    /// A merge rule's priority (lower merges first) and the id of the merged symbol.
    struct Merge: Sendable {
        let rank: Int
        let result: Int
    }

    let idsByToken: [String: Int]
    let tokensByID: [String]
    /// Merges keyed by ``pairKey(_:_:)`` of the two input ids.
    let merges: [UInt64: Merge]
    /// `byteIDs[b]` / `finalByteIDs[b]`: the id of byte `b` inside a word / at its end (`</w>`).
    let byteIDs: [Int]
    let finalByteIDs: [Int]

    static let endOfWord = "</w>"

    static func pairKey(_ left: Int, _ right: Int) -> UInt64 { UInt64(UInt32(left)) << 32 | UInt64(UInt32(right)) }

    /// Loads `vocab.json` and `merges.txt` from `directory`.
    /// - Throws: ``CLIPTokenizerError`` when a file is missing or malformed.
    init(directory: URL) throws {
        let vocabData = try Self.read(directory.appendingPathComponent("vocab.json"))
        let idsByToken: [String: Int]
        do {
            idsByToken = try JSONDecoder().decode([String: Int].self, from: vocabData)
        } catch {
            throw CLIPTokenizerError(.malformedVocabulary, "vocab.json is not a string → int map", cause: error)
        }
        var tokensByID = [String](repeating: "", count: (idsByToken.values.max() ?? -1) + 1)
        for (token, id) in idsByToken {
            guard id >= 0 else { throw CLIPTokenizerError(.malformedVocabulary, "negative id for \(token)") }
            tokensByID[id] = token
        }

        var byteIDs = [Int](), finalByteIDs = [Int]()
        for byte in UInt8.min...UInt8.max {
            let symbol = ByteLevelAlphabet.symbol(for: byte)
            guard let plain = idsByToken[symbol], let final = idsByToken[symbol + Self.endOfWord] else {
                throw CLIPTokenizerError(.malformedVocabulary, "byte symbol \(symbol) missing from vocab.json")
            }
            byteIDs.append(plain)
            finalByteIDs.append(final)
        }

        let mergesData = try Self.read(directory.appendingPathComponent("merges.txt"))
        guard let mergesText = String(data: mergesData, encoding: .utf8) else {
            throw CLIPTokenizerError(.malformedMerges, "merges.txt is not UTF-8")
        }
        var merges = [UInt64: Merge]()
        var rank = 0
        for line in mergesText.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("#version") { continue }
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2 else { throw CLIPTokenizerError(.malformedMerges, "bad merge line '\(line)'") }
            let left = String(parts[0]), right = String(parts[1])
            guard let l = idsByToken[left], let r = idsByToken[right], let m = idsByToken[left + right] else {
                throw CLIPTokenizerError(.malformedMerges, "merge '\(line)' uses a token not in vocab.json")
            }
            let key = Self.pairKey(l, r)
            if merges[key] == nil { merges[key] = Merge(rank: rank, result: m) }
            rank += 1
        }

        self.idsByToken = idsByToken
        self.tokensByID = tokensByID
        self.merges = merges
        self.byteIDs = byteIDs
        self.finalByteIDs = finalByteIDs
    }

    private static func read(_ url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url)
        } catch {
            throw CLIPTokenizerError(.unreadableFile, "cannot read \(url.path)", cause: error)
        }
    }
}
