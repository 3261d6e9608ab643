"""What is done to a frame: kernel convolution, pooling, ROI + digit, feature maps."""
