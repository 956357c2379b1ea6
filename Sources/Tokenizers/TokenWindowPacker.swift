/// Packs token groups into fixed-length CLIP windows the way ComfyUI's `SDTokenizer` does.
///
/// Each window is `start + up to 75 tokens + end`, padded to 77. A group that does not fit in
/// the current window is, when shorter than ``maxWordLength`` tokens, moved whole to the next
/// window (the current one is closed with end + padding); a longer group is split at the window
/// boundary.
struct TokenWindowPacker: Sendable {
    var windowLength = 77
    var maxWordLength = 8
    var startToken: Int
    var endToken: Int
    var padToken: Int

    /// Windows for `groups`; a group's `wordIndex` is its 1-based position in `groups` (the tokens'
    /// own `wordIndex` is replaced). Embedding vectors are packed like any other token.
    func pack(_ groups: [[TokenWeight]]) -> [[TokenWeight]] {
        let start = TokenWeight(id: startToken, weight: 1.0)
        let end = TokenWeight(id: endToken, weight: 1.0)
        let pad = TokenWeight(id: padToken, weight: 1.0)
        var windows = [[TokenWeight]]()
        var batch = [start]
        for (index, group) in groups.enumerated() {
            let isLarge = group.count >= maxWordLength
            var rest = group.map { token in
                var token = token
                token.wordIndex = index + 1
                return token
            }[...]
            while !rest.isEmpty {
                if rest.count + batch.count > windowLength - 1 {
                    let remaining = windowLength - batch.count - 1
                    if isLarge {
                        batch += rest.prefix(remaining)
                        batch.append(end)
                        rest = rest.dropFirst(remaining)
                    } else {
                        batch.append(end)
                        batch += repeatElement(pad, count: remaining)
                    }
                    windows.append(batch)
                    batch = [start]
                } else {
                    batch += rest
                    rest = []
                }
            }
        }
        batch.append(end)
        batch += repeatElement(pad, count: max(0, windowLength - batch.count))
        windows.append(batch)
        return windows
    }
}
