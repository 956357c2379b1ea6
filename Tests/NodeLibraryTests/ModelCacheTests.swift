import Diffusion
import Testing

/// The model cache's bookkeeping: hits and loads, the LRU budget, `removeAll`.
@Suite struct ModelCacheTests {
    func key(_ name: String, component: String = "clip:") -> ModelCache.Key {
        ModelCache.Key(file: ModelFile(path: "/models/" + name, size: 1, modificationTime: 0), component: component)
    }

    @Test func loadsOnceThenHits() throws {
        let cache = ModelCache(budget: 100)
        var loads = 0
        for _ in 0..<3 {
            let value = try cache.value(for: key("a"), as: String.self) { loads += 1; return ("A", 10) }
            #expect(value == "A")
        }
        #expect(loads == 1)
        #expect(cache.stats == ModelCache.Stats(hits: 2, loads: 1, evictions: 0, entryCount: 1, residentBytes: 10, budget: 100))
    }

    @Test func aChangedFileIsAnotherKey() throws {
        let cache = ModelCache(budget: 100)
        let old = ModelCache.Key(file: ModelFile(path: "/m/x", size: 1, modificationTime: 1), component: "clip:")
        let new = ModelCache.Key(file: ModelFile(path: "/m/x", size: 1, modificationTime: 2), component: "clip:")
        _ = try cache.value(for: old) { ("old", 1) }
        #expect(try cache.value(for: new) { ("new", 1) } == "new")
        #expect(cache.stats.loads == 2)
    }

    @Test func evictsLeastRecentlyUsedBeyondTheBudget() throws {
        let cache = ModelCache(budget: 100)
        _ = try cache.value(for: key("a")) { ("A", 40) }
        _ = try cache.value(for: key("b")) { ("B", 40) }
        _ = try cache.value(for: key("a")) { ("A2", 40) }  // a is now the most recent
        _ = try cache.value(for: key("c")) { ("C", 40) }   // over budget: b goes
        #expect(cache.contains(key("a")))
        #expect(!cache.contains(key("b")))
        #expect(cache.contains(key("c")))
        #expect(cache.stats.evictions == 1)
        #expect(cache.stats.residentBytes == 80)
    }

    @Test func anEntryOverTheBudgetIsKeptAloneAndMappingsAreNeverEvicted() throws {
        let cache = ModelCache(budget: 100)
        _ = try cache.value(for: key("file", component: "checkpoint")) { ("mapping", 0) }
        _ = try cache.value(for: key("a")) { ("A", 50) }
        _ = try cache.value(for: key("huge")) { ("H", 500) }
        #expect(cache.contains(key("huge")))
        #expect(!cache.contains(key("a")))
        #expect(cache.contains(key("file", component: "checkpoint")))
    }

    @Test func failedLoadsCacheNothing() {
        struct Boom: Error {}
        let cache = ModelCache(budget: 100)
        #expect(throws: Boom.self) { _ = try cache.value(for: key("a"), as: String.self) { throw Boom() } }
        #expect(cache.stats.entryCount == 0)
        #expect(cache.stats.loads == 1)
    }

    @Test func removeAllEmptiesIt() throws {
        let cache = ModelCache(budget: 100)
        _ = try cache.value(for: key("a")) { ("A", 40) }
        _ = try cache.value(for: key("b")) { ("B", 40) }
        cache.removeAll()
        #expect(cache.stats.entryCount == 0)
        #expect(cache.stats.residentBytes == 0)
        #expect(!cache.contains(key("a")))
    }

    @Test func defaultBudgetIsMostOfTheMemory() {
        #expect(ModelCache.defaultBudget() > 1 << 30)
    }
}
