"""Where the picture goes: DRM overlay (HDMI), framebuffer, web viewer, file, null."""
