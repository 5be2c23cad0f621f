import FrameSequencing
print("frameseq")
