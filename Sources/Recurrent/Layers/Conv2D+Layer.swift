import FrameSequencing

extension Conv2D: ConvolutionLayer {
    public static var pytorchWeightName: String { "PyTorch Conv2d weight (filters, inputChannels, height, width)" }
}

extension Conv2D.Gradients: ConvolutionGradients {}
