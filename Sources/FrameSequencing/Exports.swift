// `import FrameSequencing` gives the frames, windows and batches (FrameSequencingCore)
// and the files they come from and go to (FrameSequencingIO), as one library.
@_exported import FrameSequencingCore
@_exported import FrameSequencingIO
