import Foundation
import FrameseqCLI

// frameseq: the package's command line. Everything lives in FrameseqCLI so the
// tests run the same code in process; see `Frameseq.run`.
exit(Frameseq.run(Array(CommandLine.arguments.dropFirst())))
