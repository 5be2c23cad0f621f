import Foundation

/// A value behind an `NSLock`, with `Mutex`'s `withLock`, for tests that share
/// results between threads. ThreadSanitizer sees a pthread lock's ordering; it
/// cannot see `Synchronization.Mutex`'s (its futex calls and atomics live in the
/// uninstrumented runtime), so a Mutex in a test run under TSan reports races
/// that are not there.
public final class Locked<Value>: @unchecked Sendable {   // @unchecked: every access holds `lock`
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
