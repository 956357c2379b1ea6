import Synchronization

/// Byte-pair encoding of single pre-tokenised words with CLIP's ranked merges and `</w>` marker.
///
/// BPE as in Sennrich et al., "Neural Machine Translation of Rare Words with Subword Units"
/// (ACL 2016), over the byte-level alphabet: a word starts as its UTF-8 bytes (the last one
/// carrying the end-of-word marker), then the adjacent pair with the lowest merge rank is merged,
/// every non-overlapping occurrence left to right, until no ranked pair is left.
///
/// Results are cached per word; the cache is the only mutable state and sits in a `Mutex`.
final class BytePairEncoder: Sendable {
    let vocabulary: CLIPVocabulary
    private let cache = Mutex<[String: [Int]]>([:])
    /// Entries kept before the cache is emptied (the Hugging Face BPE's default capacity).
    static let cacheCapacity = 10_000

    init(vocabulary: CLIPVocabulary) {
        self.vocabulary = vocabulary
    }

    /// The ids of one word (a pre-token without whitespace).
    func encode(word: String) -> [Int] {
        if word.isEmpty { return [] }
        if let hit = cache.withLock({ $0[word] }) { return hit }
        let ids = merge(Array(word.utf8))
        cache.withLock { cache in
            if cache.count >= Self.cacheCapacity { cache.removeAll(keepingCapacity: true) }
            cache[word] = ids
        }
        return ids
    }

    private func merge(_ bytes: [UInt8]) -> [Int] {
        var symbols = bytes.map { vocabulary.byteIDs[Int($0)] }
        symbols[symbols.count - 1] = vocabulary.finalByteIDs[Int(bytes[bytes.count - 1])]
        while symbols.count > 1 {
            var best: (rank: Int, left: Int, right: Int, result: Int)?
            for i in 0..<(symbols.count - 1) {
                if let merge = vocabulary.merges[CLIPVocabulary.pairKey(symbols[i], symbols[i + 1])],
                    merge.rank < (best?.rank ?? Int.max)
                {
                    best = (merge.rank, symbols[i], symbols[i + 1], merge.result)
                }
            }
            guard let best else { break }
            var merged = [Int]()
            merged.reserveCapacity(symbols.count)
            var i = 0
            while i < symbols.count {
                if i + 1 < symbols.count, symbols[i] == best.left, symbols[i + 1] == best.right {
                    merged.append(best.result)
                    i += 2
                } else {
                    merged.append(symbols[i])
                    i += 1
                }
            }
            symbols = merged
        }
        return symbols
    }
}
