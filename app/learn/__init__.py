"""Learn my handwriting: collect digits from the camera, fine-tune the net, swap the model live."""
