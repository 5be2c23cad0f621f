import FrameSequencing

extension Sequential: Layer {}
