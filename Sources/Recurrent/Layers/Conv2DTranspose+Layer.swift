import FrameSequencing

extension Conv2DTranspose: ConvolutionLayer {
    public static var pytorchWeightName: String { "PyTorch ConvTranspose2d weight (inputChannels, filters, height, width)" }
}

extension Conv2DTranspose.Gradients: ConvolutionGradients {}
