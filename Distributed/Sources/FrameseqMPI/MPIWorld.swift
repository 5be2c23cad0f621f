import CMPIShim
import Foundation

/// What an MPI call of ``MPIWorld`` failed with.
public enum MPIError: Error, CustomStringConvertible, Equatable {
    /// MPI returned error `code` (its text in `message`) in `operation`.
    case failed(operation: String, code: Int32, message: String)
    /// This rank waited longer than its deadline in `operation` (collective
    /// number `sequence`) and heard nothing from `missingRanks`.
    case timedOut(operation: String, sequence: Int, seconds: Double, rank: Int, missingRanks: [Int])
    /// The ranks were not started alike (`description` says how).
    case mismatch(String)

    public var description: String {
        switch self {
        case let .failed(operation, code, message):
            return "MPI \(operation) failed with error \(code): \(message)"
        case let .timedOut(operation, sequence, seconds, rank, missing):
            let who = missing.isEmpty ? "another rank" : (missing.count == 1 ? "rank " : "ranks ") + missing.map(String.init).joined(separator: ", ")
            return "\(who) did not reach the \(operation) (collective \(sequence)): rank \(rank) waited "
                + "\(String(format: "%.0f", seconds)) s (--rank-timeout) and ends the job; the missing rank hangs or has stopped"
        case let .mismatch(text):
            return text
        }
    }
}

/// The processes of one `mpirun` job (MPI_COMM_WORLD): rank and size, and the
/// collectives data-parallel training needs, each with a deadline so that a
/// hung rank ends the job with an error naming it.
///
/// One per process: ``start()`` initializes MPI (funneled: call it and
/// everything else from one thread; the package's worker threads make no MPI
/// calls), ``finish()`` finalizes it. Not for use from several threads.
public final class MPIWorld: @unchecked Sendable {
    /// This process's rank, 0 ..< ``size``.
    public let rank: Int
    /// The number of processes in the job.
    public let size: Int
    /// How long a collective waits for the other ranks before it throws
    /// ``MPIError/timedOut(operation:sequence:seconds:rank:missingRanks:)``.
    public var timeoutSeconds: Double
    /// Collectives started so far (the same count on every rank).
    private var sequence: Int64 = 0

    private init(rank: Int, size: Int, timeoutSeconds: Double) {
        (self.rank, self.size, self.timeoutSeconds) = (rank, size, timeoutSeconds)
    }

    /// Initializes MPI for this process (once).
    ///
    /// - Parameter timeoutSeconds: The deadline of every collective.
    /// - Throws: ``MPIError/failed(operation:code:message:)``.
    public static func start(timeoutSeconds: Double = 600) throws -> MPIWorld {
        var rank: Int32 = 0, size: Int32 = 0
        try check(fsmpi_init(&rank, &size), "initialization")
        return MPIWorld(rank: Int(rank), size: Int(size), timeoutSeconds: timeoutSeconds)
    }

    /// Finalizes MPI; no call may follow.
    ///
    /// - Throws: ``MPIError/failed(operation:code:message:)``.
    public func finish() throws {
        try Self.check(fsmpi_finalize(), "finalization")
    }

    /// Ends every process of the job at once with exit status `code`
    /// (MPI_Abort): what a rank does when it cannot go on and the others would
    /// otherwise wait for it.
    ///
    /// - Parameter code: The job's exit status.
    public func abort(code: Int32) -> Never {
        fsmpi_abort(code)
        exit(code)
    }

    /// Sums `buffer` over every rank, in place, as all-reduces of `bucket`
    /// floats, all in flight at once.
    ///
    /// - Parameters:
    ///   - buffer: This rank's values; every rank's sums after the call.
    ///   - bucket: Floats per all-reduce.
    ///   - operation: What an error message calls it.
    /// - Throws: ``MPIError``.
    public func allReduceSum(_ buffer: inout [Float], bucket: Int, operation: String = "gradient all-reduce") throws {
        let number = next()
        let status = buffer.withUnsafeMutableBufferPointer {
            fsmpi_allreduce_sum_float($0.baseAddress, Int64($0.count), Int64(bucket), number, timeoutSeconds)
        }
        try check(status, operation, number)
    }

    /// Rank 0's `bytes` on every rank (the others' argument is ignored).
    ///
    /// - Parameter bytes: The bytes to send, on rank 0.
    /// - Throws: ``MPIError``.
    public func broadcastFromRankZero(_ bytes: [UInt8], operation: String = "broadcast from rank 0") throws -> [UInt8] {
        // The length first: rank 0's, with every rank's arrival checked.
        let length = Int(try allGather([UInt64(rank == 0 ? bytes.count : 0)], operation: operation)[0][0])
        var buffer = rank == 0 ? bytes : [UInt8](repeating: 0, count: length)
        let number = next()
        let status = buffer.withUnsafeMutableBufferPointer {
            fsmpi_broadcast_bytes($0.baseAddress, Int64(length), number, timeoutSeconds)
        }
        try check(status, operation, number)
        return buffer
    }

    /// Every rank's `values` (each rank passes as many), rank by rank.
    ///
    /// - Parameters:
    ///   - values: This rank's values.
    ///   - operation: What an error message calls it.
    /// - Throws: ``MPIError``.
    public func allGather(_ values: [UInt64], operation: String = "start-up check") throws -> [[UInt64]] {
        var gathered = [UInt64](repeating: 0, count: values.count * size)
        let number = next()
        let status = values.withUnsafeBufferPointer { source in
            gathered.withUnsafeMutableBufferPointer {
                fsmpi_allgather_u64(source.baseAddress, Int32(values.count), $0.baseAddress, number, timeoutSeconds)
            }
        }
        try check(status, operation, number)
        return (0 ..< size).map { Array(gathered[$0 * values.count ..< ($0 + 1) * values.count]) }
    }

    private func next() -> Int64 {
        sequence += 1
        return sequence
    }

    private func check(_ status: Int32, _ operation: String, _ number: Int64) throws {
        if status == FSMPI_TIMEOUT {
            var missing = [Int32](repeating: 0, count: size)
            let count = fsmpi_missing_ranks(number, &missing, Int32(size))
            throw MPIError.timedOut(operation: operation, sequence: Int(number), seconds: timeoutSeconds, rank: rank,
                                    missingRanks: missing.prefix(Int(count)).map(Int.init))
        }
        try Self.check(status, operation)
    }

    private static func check(_ status: Int32, _ operation: String) throws {
        guard status != 0 else { return }
        var text = [CChar](repeating: 0, count: 512)
        fsmpi_error_string(status, &text, Int32(text.count))
        let message = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        throw MPIError.failed(operation: operation, code: status, message: message)
    }
}
