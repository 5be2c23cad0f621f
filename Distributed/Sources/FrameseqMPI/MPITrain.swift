import Foundation
import FrameseqCLI
import Recurrent

/// `frameseq-mpi train`: `frameseq train` as one rank of an `mpirun` job.
public enum MPITrain {
    public static let help = """
    Usage: mpirun -np N frameseq-mpi train [frameseq train's options] [--rank-timeout S] [--bucket-mb M]

    Trains as `frameseq train` does, on N processes (ranks): every rank holds the
    model, trains --batch-size windows of each step (the step trains N times as
    many) and the gradients are averaged over the ranks before every update, so
    N ranks of batch B train as one process of batch N*B with the same seed.
    Rank 0 alone writes the run's files (checkpoints, model, metrics.json,
    report.html, pictures). --resume continues a run with any number of ranks:
    the checkpoint's step batch is shared out over them. Every rank must see the
    same frames and run directory (a shared or identical copy): the ranks
    compare their options and files first and refuse to start otherwise.

      --rank-timeout S     seconds a rank waits for the others in a collective
                           before it ends the job naming the ranks it did not hear
                           from (default 600)
      --bucket-mb M        megabytes per gradient all-reduce (default 25, as
                           PyTorch DDP's bucket_cap_mb)

    frameseq train's options (frameseq train --help):
    """

    /// Runs `frameseq-mpi` with `arguments` (without the program name) and
    /// returns the exit status; a rank that fails while others may still be
    /// waiting for it ends the job (MPI_Abort) instead of returning.
    public static func main(_ arguments: [String]) -> Int32 {
        guard arguments.first == "train" else {
            let asked = arguments.first.map { ["--help", "-h", "help"].contains($0) } ?? false
            FileHandle.standardError.write(Data(((asked ? "" : "frameseq-mpi: expected the command 'train'\n") + help + "\n").utf8))
            return asked ? 0 : 2
        }
        var rest = Array(arguments.dropFirst())
        if rest.contains("--help") || rest.contains("-h") {
            print(help)
            return Frameseq.run(["train", "--help"])
        }
        let timeout: Double, bucketBytes: Int
        do {
            timeout = try take("--rank-timeout", from: &rest).map { try number($0, "--rank-timeout") } ?? 600
            bucketBytes = Int(((try take("--bucket-mb", from: &rest).map { try number($0, "--bucket-mb") }) ?? 25) * 1_048_576)
        } catch {
            FileHandle.standardError.write(Data("frameseq-mpi train: \(error)\n".utf8))
            return 2
        }
        let world: MPIWorld
        do {
            world = try MPIWorld.start(timeoutSeconds: timeout)
        } catch {
            FileHandle.standardError.write(Data("frameseq-mpi: \(error) (run it under mpirun; Open MPI: apt-get install openmpi-bin)\n".utf8))
            return 1
        }
        let rank = world.rank
        let out: @Sendable (String) -> Void = { line in FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
        let silent: @Sendable (String) -> Void = { _ in }
        let err: @Sendable (String) -> Void = { line in FileHandle.standardError.write(Data(("rank \(rank): " + line + "\n").utf8)) }
        let console = Console(out: rank == 0 ? out : silent, err: err)
        do {
            try StartCheck.verify(try world.allGather(try StartCheck.fingerprint(of: rest)), arguments: rest)
        } catch {
            err("frameseq-mpi train: \(error)")
            if case MPIError.mismatch = error {   // every rank knows it: end together
                try? world.finish()
                return 2
            }
            world.abort(code: 1)
        }
        let exchange = MPIGradientExchange(world: world, bucketBytes: bucketBytes)
        let faulty: (any GradientExchange)? = TestFault.fromEnvironment(rank: rank).map { FaultyExchange(exchange, fault: $0) }
        let status = Frameseq.runTrain(rest, console: console, exchange: faulty ?? exchange)
        if status == 0, rank == 0, world.size > 1, exchange.steps > 0 {
            out(String(format: "all-reduce: %d steps of %.1f MB, %.1f ms a step on average (%.1f s in all, waiting for the slowest rank included)",
                       exchange.steps, Double(exchange.bytesPerStep) / 1e6, exchange.seconds / Double(exchange.steps) * 1e3,
                       exchange.seconds))
        }
        guard status == 0 || world.size == 1 else {
            // Other ranks may be inside a collective this rank will never join.
            world.abort(code: status)
        }
        do {
            try world.finish()
        } catch {
            err("frameseq-mpi: \(error)")
            return 1
        }
        return status
    }

    private static func take(_ name: String, from arguments: inout [String]) throws -> String? {
        guard let index = arguments.firstIndex(of: name) else { return nil }
        guard index + 1 < arguments.count else { throw MPIError.mismatch("\(name) needs a value") }
        let value = arguments[index + 1]
        arguments.removeSubrange(index ... index + 1)
        return value
    }

    private static func number(_ text: String, _ name: String) throws -> Double {
        guard let value = Double(text), value.isFinite, value > 0 else {
            throw MPIError.mismatch("\(name) expects a number above 0, got '\(text)'")
        }
        return value
    }
}
