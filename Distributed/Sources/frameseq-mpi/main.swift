import Foundation
import FrameseqMPI

exit(MPITrain.main(Array(CommandLine.arguments.dropFirst())))
