"""Offline: the NumPy reference network, MNIST data, training and export to TFLite."""
