import Foundation
import FrameSequencing
import Recurrent

/// A fault the tests inject through `FRAMESEQ_MPI_TEST_FAULT=KIND:RANK:STEP`:
/// at its STEP-th gradient exchange (from 1), rank RANK is `killed` (SIGKILL,
/// as the kernel's out-of-memory killer ends a process) or `hangs` (sleeps
/// forever, as a deadlocked one). For the fault tests only; unset, nothing changes.
struct TestFault {
    enum Kind: String { case killed = "kill", hangs = "hang" }
    var kind: Kind
    var step: Int

    static func fromEnvironment(rank: Int) -> TestFault? {
        guard let text = ProcessInfo.processInfo.environment["FRAMESEQ_MPI_TEST_FAULT"] else { return nil }
        let parts = text.split(separator: ":").map(String.init)
        guard parts.count == 3, let kind = Kind(rawValue: parts[0]), Int(parts[1]) == rank, let step = Int(parts[2]) else { return nil }
        return TestFault(kind: kind, step: step)
    }
}

/// An exchange that runs ``TestFault`` before its `step`-th combine.
final class FaultyExchange: GradientExchange, @unchecked Sendable {
    let base: any GradientExchange
    let fault: TestFault
    private var calls = 0
    var rank: Int { base.rank }
    var size: Int { base.size }

    init(_ base: any GradientExchange, fault: TestFault) {
        (self.base, self.fault) = (base, fault)
    }

    func combine(_ gradients: [Tensor], loss: Float, windows: Int, of total: Int, failed: Bool) throws -> CombinedStep {
        calls += 1
        if calls == fault.step {
            switch fault.kind {
            case .killed: kill(getpid(), SIGKILL)
            case .hangs: while true { sleep(3600) }
            }
        }
        return try base.combine(gradients, loss: loss, windows: windows, of: total, failed: failed)
    }

    func broadcastFromRankZero(_ bytes: [UInt8]) throws -> [UInt8] {
        try base.broadcastFromRankZero(bytes)
    }
}
