import Synchronization

/// A shared "stop now" flag, set by `/interrupt` and cancel requests and polled by the executor
/// between nodes and by nodes on every progress tick.
public final class InterruptFlag: Sendable {
    private let flag = Mutex(false)

    public init() {}

    public func set() { flag.withLock { $0 = true } }
    public func clear() { flag.withLock { $0 = false } }
    public var isSet: Bool { flag.withLock { $0 } }
}
