"""Pose-guided person image generators: the interface, the registry, the GAN loop, and SAN."""
