"""convlens: watch a convolutional neural network work, live, on a camera picture."""

__version__ = "0.1.0"
