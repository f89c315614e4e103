"""The worker's stages, one module each."""
