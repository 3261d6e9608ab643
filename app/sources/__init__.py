"""Where frames come from: picamera2, OpenCV device/file, image folder, synthetic demo."""
