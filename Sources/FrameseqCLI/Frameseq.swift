import Foundation
import Recurrent

/// Where a command's lines go: standard output and error by default, a
/// collector in tests.
public struct Console: Sendable {
    let out: @Sendable (String) -> Void
    let err: @Sendable (String) -> Void

    /// A console that hands standard-output lines to `out` and standard-error lines to `err`.
    ///
    /// - Parameters:
    ///   - out: Takes each line for standard output.
    ///   - err: Takes each line for standard error.
    public init(out: @escaping @Sendable (String) -> Void, err: @escaping @Sendable (String) -> Void) {
        (self.out, self.err) = (out, err)
    }

    /// Lines to standard output and standard error.
    /// Each line is flushed at once, so a log file shows progress while a run goes on.
    public static let standard = Console(
        out: { FileHandle.standardOutput.write(Data(($0 + "\n").utf8)) },
        err: { FileHandle.standardError.write(Data(($0 + "\n").utf8)) })

    func print(_ line: String) { out(line) }
}

/// The `frameseq` command line: `demo`, `train`, `forecast` and `example`.
public enum Frameseq {
    static let usage = """
    Usage: frameseq <command> [options]     (frameseq <command> --help for its options)

      demo       train FC-LSTM, CNN-LSTM and ConvLSTM forecasters on built-in moving
                 digits and compare their held-out forecasts with baselines
      train      train a forecaster on your frames (an NPY file or a folder of images)
      forecast   forecast the frames after your frames with a trained checkpoint
      example    show how FrameSequencing cuts a series into windows and batches
    """

    /// Each command's help and how it runs.
    static let commands: [String: (help: String, run: @Sendable ([String], Console) throws -> Void)] = [
        "demo": (DemoCommand.help, { try DemoCommand($0).run($1) }),
        "train": (TrainCommand.help, { try TrainCommand($0).run($1) }),
        "forecast": (ForecastCommand.help, { try ForecastCommand($0).run($1) }),
        "example": (ExampleCommand.help, { try ExampleCommand($0).run($1) }),
    ]

    /// Runs `arguments` (without the program name) and returns the exit status:
    /// 0 on success, 1 when the job failed, 2 for a usage error, 130 when SIGINT
    /// stopped the run (after it wrote its record and report). Errors are one
    /// line on `console.err` starting with `frameseq <command>:`.
    public static func run(_ arguments: [String], console: Console = .standard) -> Int32 {
        guard let command = arguments.first, !["--help", "-h", "help"].contains(command) else {
            console.print(usage)
            return arguments.isEmpty ? 2 : 0
        }
        let rest = Array(arguments.dropFirst())
        return status(of: command, console: console) {
            guard let (help, run) = commands[command] else { throw CLIError.usage("unknown command '\(command)'\n\(usage)") }
            if rest.contains("--help") || rest.contains("-h") {
                console.print(help)
            } else {
                try run(rest, console)
            }
        }
    }

    /// Runs `frameseq train` with `arguments` (its options, without the
    /// command's name) as rank ``GradientExchange/rank`` of a data-parallel
    /// run: the same options and files as `frameseq train`, where
    /// `--batch-size` is each rank's share and a step trains
    /// ``GradientExchange/size`` times as many windows; only rank 0 writes
    /// (checkpoints, the model, metrics.json, report.html, pictures) and
    /// scores the held-out frames. `--resume` continues a run of any rank
    /// count with the checkpoint's batch, shared out over this run's ranks.
    /// Returns the exit status as ``run(_:console:)`` does (`frameseq-mpi` is
    /// the command that calls it; see the `Distributed` package).
    ///
    /// - Parameters:
    ///   - arguments: `frameseq train`'s options.
    ///   - console: Where lines go (rank 0's to standard output, the others' errors only).
    ///   - exchange: The rank's transport.
    public static func runTrain(_ arguments: [String], console: Console, exchange: any GradientExchange) -> Int32 {
        status(of: "train", console: console) {
            if arguments.contains("--help") || arguments.contains("-h") {
                console.print(TrainCommand.help)
                return
            }
            var command = try TrainCommand(arguments)
            command.exchange = exchange
            try command.run(console)
        }
    }

    /// Runs `body` and turns what it throws into the exit status and one line on `console.err`.
    private static func status(of command: String, console: Console, _ body: () throws -> Void) -> Int32 {
        do {
            try body()
            return 0
        } catch CLIError.usage(let message) {
            console.err("frameseq \(command): \(message)")
            return 2
        } catch let interruption as RunInterrupted {
            console.err("frameseq \(command): \(interruption)")
            return 130
        } catch {
            console.err("frameseq \(command): \(oneLine(error))")
            return 1
        }
    }

    /// An error's description on one line.
    static func oneLine(_ error: any Error) -> String {
        String(describing: error).split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
