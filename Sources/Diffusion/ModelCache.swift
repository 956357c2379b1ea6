import Foundation
import Synchronization

/// Loaded model components kept between prompts within a memory budget (ComfyUI's loaded-model list
/// and `--cache-ram`), emptied by `POST /free`.
///
/// Entries are keyed by the file's identity (path, size, modification time) and a component name
/// (`"checkpoint"`, `"clip"`, later `"unet"`, `"vae"`). Each entry records an estimate of its resident
/// bytes: the weights it holds (for zero-copy weights borrowed from a mapping, the bytes those weights
/// will page in). The file mapping itself is counted as zero: it is page cache the kernel can reclaim.
/// When the total exceeds ``budget``, least-recently-used entries are dropped (never the one just
/// inserted). Dropping an entry releases the cache's reference; a handle still held elsewhere (for
/// example in the executor's output cache) keeps its weights alive until it is released too.
///
/// Node execute functions are synchronous and run on the compute thread, so the cache is a
/// `Mutex`-guarded class with synchronous methods. Loads run outside the lock; when two threads load
/// the same key at once, the first insert wins and the other result is dropped.
public final class ModelCache: Sendable {
    /// What identifies a cached component.
    public struct Key: Sendable, Hashable, CustomStringConvertible {
        public var file: ModelFile
        public var component: String

        public init(file: ModelFile, component: String) {
            self.file = file
            self.component = component
        }

        public var description: String { "\(component) of \(file.path)" }
    }

    /// Counters and sizes, for tests and logs.
    public struct Stats: Sendable, Equatable {
        /// Lookups answered from the cache.
        public var hits = 0
        /// Lookups that ran a load (successful or not).
        public var loads = 0
        /// Entries dropped to stay within the budget.
        public var evictions = 0
        /// Entries held now.
        public var entryCount = 0
        /// Sum of the entries' byte estimates.
        public var residentBytes = 0
        /// The budget in bytes.
        public var budget = 0

        public init(hits: Int = 0, loads: Int = 0, evictions: Int = 0, entryCount: Int = 0, residentBytes: Int = 0, budget: Int = 0) {
            self.hits = hits
            self.loads = loads
            self.evictions = evictions
            self.entryCount = entryCount
            self.residentBytes = residentBytes
            self.budget = budget
        }
    }

    private struct Entry {
        var value: any Sendable
        var bytes: Int
        var lastUse: UInt64
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var clock: UInt64 = 0
        var stats = Stats()
    }

    /// The byte budget for all entries together.
    public let budget: Int
    private let state: Mutex<State>

    /// - Parameter budget: bytes the entries may hold together; ``defaultBudget()`` when nil.
    public init(budget: Int? = nil) {
        let budget = budget ?? Self.defaultBudget()
        self.budget = budget
        var initial = State()
        initial.stats.budget = budget
        state = Mutex(initial)
    }

    /// The default budget: 75% of physical memory (`MemTotal` in `/proc/meminfo`), or 8 GiB where
    /// that cannot be read.
    public static func defaultBudget() -> Int {
        let fallback = 8 << 30
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return fallback }
        for line in text.split(separator: "\n") where line.hasPrefix("MemTotal:") {
            let fields = line.split(separator: " ")
            guard fields.count >= 2, let kib = Int(fields[1]) else { return fallback }
            return kib / 4 * 3 * 1024
        }
        return fallback
    }

    /// The cached value for `key`, or the result of `load`, which is then cached.
    ///
    /// - Parameters:
    ///   - key: the file and component.
    ///   - type: the value's type (a key always holds the same type).
    ///   - load: builds the value and returns it with its resident-byte estimate; runs outside the lock.
    /// - Returns: the value.
    /// - Throws: whatever `load` throws (nothing is cached then).
    public func value<T: Sendable>(for key: Key, as type: T.Type = T.self,
                                   load: () throws -> (value: T, bytes: Int)) throws -> T {
        if let cached = lookup(key, as: type) { return cached }
        state.withLock { $0.stats.loads += 1 }
        let (value, bytes) = try load()
        return insert(value, bytes: bytes, for: key)
    }

    /// The cached value for `key` without loading, counting a hit when present.
    public func lookup<T: Sendable>(_ key: Key, as type: T.Type = T.self) -> T? {
        state.withLock { state in
            guard var entry = state.entries[key], let value = entry.value as? T else { return nil }
            state.clock += 1
            entry.lastUse = state.clock
            state.entries[key] = entry
            state.stats.hits += 1
            return value
        }
    }

    /// Whether `key` is cached (no hit is counted).
    public func contains(_ key: Key) -> Bool {
        state.withLock { $0.entries[key] != nil }
    }

    /// Drops every entry (`POST /free`).
    public func removeAll() {
        state.withLock { state in
            state.entries.removeAll()
            state.stats.entryCount = 0
            state.stats.residentBytes = 0
        }
    }

    /// A snapshot of the counters.
    public var stats: Stats { state.withLock { $0.stats } }

    private func insert<T: Sendable>(_ value: T, bytes: Int, for key: Key) -> T {
        state.withLock { state in
            state.clock += 1
            if var existing = state.entries[key], let kept = existing.value as? T {
                existing.lastUse = state.clock
                state.entries[key] = existing
                return kept
            }
            if let replaced = state.entries[key] { state.stats.residentBytes -= replaced.bytes }
            state.entries[key] = Entry(value: value, bytes: max(0, bytes), lastUse: state.clock)
            state.stats.residentBytes += max(0, bytes)
            while state.stats.residentBytes > budget,
                  let victim = state.entries.filter({ $0.key != key && $0.value.bytes > 0 })
                      .min(by: { $0.value.lastUse < $1.value.lastUse }) {
                state.entries[victim.key] = nil
                state.stats.residentBytes -= victim.value.bytes
                state.stats.evictions += 1
            }
            state.stats.entryCount = state.entries.count
            return value
        }
    }
}
