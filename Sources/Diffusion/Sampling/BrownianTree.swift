import Foundation
import TensorCore

/// torchsde's `BrownianTree` (a `BrownianInterval` with `halfway_tree=True`, no Lévy area), reproduced bit for
/// bit on the CPU for float32 samples.
///
/// The Brownian motion on [t0, t1] is a binary tree of intervals. The root's increment is `randn · sqrt(t1 − t0)`;
/// an interval's children are split at its (rounded) midpoint and get their increments from the Brownian bridge:
/// left = `W·l/h + sqrt(l·r/h)·Z`, right = `W − left`, where `Z` is a fresh `randn` from a generator seeded by
/// the parent. Each parent's seed comes from NumPy's `SeedSequence(entropy, spawn_key=(key, depth),
/// pool_size=24)`, with key the path from the root in binary, so a value depends only on the entropy and on the
/// query, never on the order of the queries. An increment over [ta, tb] is the sum, left to right, of the tree
/// intervals that tile it.
///
/// Times are doubles and are rounded to `tol` (1e-6) decimal places with Python's `round`; the samples are
/// float32, and every product of a sample with a time-derived coefficient rounds that coefficient to float32
/// first, as torch does with a Python float operand.
public struct BrownianTree: Sendable {
    /// The number of float32 elements of one sample (the product of the shape).
    public let count: Int
    /// The entropy (the KSampler seed in ComfyUI).
    public let entropy: UInt64
    /// The (rounded) interval the motion is defined on.
    public var start: Double { nodes[0].start }
    public var end: Double { nodes[0].end }

    private struct Node: Sendable {
        var start: Double
        var end: Double
        var parent: Int
        var isLeft: Bool
        var midway: Double?
        var spawnKey: UInt64 = 0
        var depth: UInt64 = 0
        var wSeed: UInt32 = 0
        var left: Int = -1
        var right: Int = -1
    }

    private let digits: Int?
    private let poolSize: Int
    private let kernel: TorchGenerator.Kernel
    private var nodes: [Node]
    private var rootIncrement: [Float]
    private var cache: IncrementCache
    private var lastInterval = 0
    /// Bridge samples drawn ahead for the current query, by parent node.
    private var prefetched: [Int: [Float]] = [:]

    /// `torchsde.BrownianTree(t0, w0, t1, entropy=entropy)` with `w0` of `count` float32 zeros.
    ///
    /// - Parameters:
    ///   - t0: the start time; must not exceed `t1`.
    ///   - t1: the end time.
    ///   - count: the element count of `w0`.
    ///   - entropy: the seed.
    ///   - tol: the time resolution (torchsde's default 1e-6); 0 disables rounding.
    ///   - poolSize: the `SeedSequence` pool size (torchsde's `BrownianTree` default 24).
    ///   - cacheSize: how many interval increments to keep (torchsde keeps 45); does not change any value.
    ///   - kernel: torch's CPU `randn` kernel to reproduce.
    public init(t0: Double, t1: Double, count: Int, entropy: UInt64, tol: Double = 1e-6, poolSize: Int = 24,
                cacheSize: Int = 45, kernel: TorchGenerator.Kernel = .avx2) {
        precondition(t0 <= t1, "BrownianTree: t0 \(t0) is after t1 \(t1)")
        precondition(count >= 0 && tol >= 0, "BrownianTree: bad count \(count) or tolerance \(tol)")
        self.count = count
        self.entropy = entropy
        self.poolSize = poolSize
        self.kernel = kernel
        self.digits = tol == 0 ? nil : -Int(log10(tol))
        self.cache = IncrementCache(capacity: cacheSize)
        self.nodes = []
        self.rootIncrement = []
        let root = Node(start: round(t0), end: round(t1), parent: -1, isLeft: false)
        nodes.append(root)
        // The root's seeds: W, H and the Lévy-area seed; only W matters without Lévy area.
        let rootSeeds = NumpySeedSequence(entropy: entropy, poolSize: poolSize).generateState(3)
        rootIncrement = BrownianTree.randn(count: count, seed: rootSeeds[0], kernel: kernel)
        BrownianTree.scale(&rootIncrement, by: Float((t1 - t0).squareRoot()))
    }

    /// The increment `W(tb) − W(ta)` (torchsde's `tree(ta, tb)`), `count` float32 values.
    ///
    /// Times outside the tree's interval are clamped to it, as torchsde does (with a warning there).
    public mutating func increment(from ta: Double, to tb: Double) -> [Float] {
        var ta = ta, tb = tb
        let start = nodes[0].start, end = nodes[0].end
        ta = min(max(ta, start), end)
        tb = min(max(tb, start), end)
        precondition(ta <= tb, "BrownianTree: query times \(ta) and \(tb) must satisfy ta <= tb")
        if ta == tb { return [Float](repeating: 0, count: count) }
        let (roundedA, roundedB) = (round(ta), round(tb))
        // Times closer than the tolerance would make torchsde recurse without end; their increment is zero.
        if roundedA == roundedB { return [Float](repeating: 0, count: count) }
        var intervals: [Int] = []
        locate(lastInterval, roundedA, roundedB, &intervals)
        lastInterval = intervals[intervals.count - 1]
        prefetchBridgeSamples(for: intervals)
        var total = incrementOf(intervals[0])
        for index in intervals.dropFirst() {
            let next = incrementOf(index)
            for i in 0..<count { total[i] += next[i] }
        }
        return total
    }

    private func round(_ x: Double) -> Double {
        guard let digits else { return x }
        return BrownianTree.pythonRound(x, digits: digits)
    }

    // MARK: Locating intervals

    /// Appends to `out`, in order, the tree intervals that tile [ta, tb], searching from `index` and creating
    /// splits where needed (torchsde's `_loc_inner`).
    private mutating func locate(_ index: Int, _ ta: Double, _ tb: Double, _ out: inout [Int]) {
        let node = nodes[index]
        if ta < node.start || tb > node.end {
            precondition(node.parent >= 0, "BrownianTree: [\(ta), \(tb)] outside the tree")
            return locate(node.parent, ta, tb, &out)
        }
        if ta == node.start && tb == node.end {
            out.append(index)
            return
        }
        guard let midway = node.midway else {
            if ta == node.start {
                split(index, at: tb)
                return locate(nodes[index].left, ta, tb, &out)
            }
            split(index, at: ta)
            return locate(nodes[index].right, ta, tb, &out)
        }
        if tb <= midway { return locate(node.left, ta, tb, &out) }
        if ta >= midway { return locate(node.right, ta, tb, &out) }
        locate(node.left, ta, midway, &out)
        locate(node.right, midway, tb, &out)
    }

    /// Splits at the halfway point, then the child containing `point`, until `point` is a split point.
    private mutating func split(_ index: Int, at point: Double) {
        splitExact(index, at: 0.5 * (nodes[index].end + nodes[index].start))
        let midway = nodes[index].midway!
        if point > midway {
            split(nodes[index].right, at: point)
        } else if point < midway {
            split(nodes[index].left, at: point)
        }
    }

    private mutating func splitExact(_ index: Int, at point: Double) {
        var node = nodes[index]
        node.midway = round(point)
        if node.parent >= 0 {
            let parent = nodes[node.parent]
            precondition(parent.depth < 63, "BrownianTree: tree deeper than 63 levels (tolerance too small)")
            node.spawnKey = 2 * parent.spawnKey + (node.isLeft ? 0 : 1)
            node.depth = parent.depth + 1
        }
        let seeds = NumpySeedSequence(entropy: entropy, spawnKey: [node.spawnKey, node.depth], poolSize: poolSize)
            .generateState(4)
        node.wSeed = seeds[0]
        // The children's edges are rounded like every interval's (the unrounded point is passed on).
        node.left = nodes.count
        node.right = nodes.count + 1
        nodes[index] = node
        nodes.append(Node(start: node.start, end: round(point), parent: index, isLeft: true))
        nodes.append(Node(start: round(point), end: node.end, parent: index, isLeft: false))
    }

    // MARK: Increments

    /// The increment of one tree interval, from its parent's by the Brownian bridge (cached). Both children share
    /// the parent's bridge sample, so the sibling's increment is computed and cached with it.
    private mutating func incrementOf(_ index: Int) -> [Float] {
        if index == 0 { return rootIncrement }
        if let cached = cache[index] { return cached }
        let node = nodes[index]
        let parent = nodes[node.parent]
        let parentW = incrementOf(node.parent)
        let midway = parent.midway!
        let hReciprocal = 1 / (parent.end - parent.start)
        let leftDiff = midway - parent.start
        let rightDiff = parent.end - midway
        let variance = leftDiff * rightDiff * hReciprocal
        let noise = prefetched.removeValue(forKey: node.parent)
            ?? BrownianTree.randn(count: count, seed: parent.wSeed, kernel: kernel)
        // torch rounds each Python-float operand to float32 and each product to float32.
        let meanScale = Float(leftDiff), meanScale2 = Float(hReciprocal), noiseScale = Float(variance.squareRoot())
        var left = [Float](repeating: 0, count: count)
        var right = [Float](repeating: 0, count: count)
        for i in 0..<count {
            let mean = (parentW[i] * meanScale) * meanScale2
            left[i] = mean + noise[i] * noiseScale
            right[i] = parentW[i] - left[i]
        }
        cache[node.isLeft ? parent.right : parent.left] = node.isLeft ? right : left
        cache[index] = node.isLeft ? left : right
        return node.isLeft ? left : right
    }

    /// Draws, in parallel, the bridge samples that the increments of `intervals` will need (one `randn` per parent
    /// whose child is not cached). Each sample has its own generator, so the values do not depend on the order.
    private mutating func prefetchBridgeSamples(for intervals: [Int]) {
        prefetched.removeAll()
        var parents: [Int] = []
        var visited = Set<Int>()
        for tile in intervals {
            var index = tile
            while index != 0, cache[index] == nil, visited.insert(index).inserted {
                let parent = nodes[index].parent
                if !parents.contains(parent) { parents.append(parent) }
                index = parent
            }
        }
        guard parents.count > 1, count >= 4096 else { return }
        let seeds = parents.map { nodes[$0].wSeed }
        let count = count, kernel = kernel
        var samples = [[Float]](repeating: [], count: seeds.count)
        samples.withUnsafeMutableBufferPointer { buffer in
            let output = UncheckedSendableBuffer(buffer)
            DispatchQueue.concurrentPerform(iterations: seeds.count) { i in
                output.buffer[i] = BrownianTree.randn(count: count, seed: seeds[i], kernel: kernel)
            }
        }
        for (parent, sample) in zip(parents, samples) { prefetched[parent] = sample }
    }

    static func randn(count: Int, seed: UInt32, kernel: TorchGenerator.Kernel) -> [Float] {
        var generator = TorchGenerator(seed: UInt64(seed), kernel: kernel)
        return generator.randn(count: count)
    }

    static func scale(_ values: inout [Float], by factor: Float) {
        for i in values.indices { values[i] *= factor }
    }
}

/// Carries the result buffer into `concurrentPerform`.
///
/// `@unchecked Sendable` invariant: each iteration writes only its own element, and the buffer outlives the call.
private struct UncheckedSendableBuffer: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<[Float]>
    init(_ buffer: UnsafeMutableBufferPointer<[Float]>) { self.buffer = buffer }
}

/// A small least-recently-used cache of interval increments (values are recomputable, so eviction only costs
/// time).
private struct IncrementCache: Sendable {
    let capacity: Int
    private var values: [Int: [Float]] = [:]
    private var order: [Int] = []

    init(capacity: Int) { self.capacity = capacity }

    subscript(key: Int) -> [Float]? {
        get { values[key] }
        set {
            guard capacity > 0, let newValue else { return }
            if values[key] != nil {
                order.removeAll { $0 == key }
            } else if values.count >= capacity {
                values[order.removeFirst()] = nil
            }
            values[key] = newValue
            order.append(key)
        }
    }
}
