import Foundation
import Synchronization

/// A dedicated OS thread for compute, so node execution never blocks NIO event loops or the
/// cooperative pool. Work items run one at a time, in submission order.
public final class ComputeThread: Sendable {
    private struct State {
        var queue: [@Sendable () -> Void] = []
        var stopped = false
    }

    private let state = Mutex(State())
    private let condition = NSCondition()

    public init(name: String = "loom-compute") {
        let thread = Thread { [self] in self.loop() }
        thread.name = name
        thread.stackSize = 64 << 20  // deep graphs and large numeric kernels
        thread.start()
    }

    private func loop() {
        while true {
            condition.lock()
            var item: (@Sendable () -> Void)?
            var stop = false
            while true {
                (item, stop) = state.withLock { s in
                    if !s.queue.isEmpty { return (s.queue.removeFirst(), false) }
                    return (nil, s.stopped)
                }
                if item != nil || stop { break }
                condition.wait()
            }
            condition.unlock()
            if let item { item() } else if stop { return }
        }
    }

    /// Runs `work` on the compute thread and returns its result.
    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            enqueue {
                continuation.resume(with: Result { try work() })
            }
        }
    }

    private func enqueue(_ item: @escaping @Sendable () -> Void) {
        condition.lock()
        state.withLock { $0.queue.append(item) }
        condition.signal()
        condition.unlock()
    }

    /// Lets the thread exit once its queue is empty.
    public func stop() {
        condition.lock()
        state.withLock { $0.stopped = true }
        condition.signal()
        condition.unlock()
    }
}
