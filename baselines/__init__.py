"""Reimplemented baseline generators (PG2, Def-GAN, VU-Net, PATN, Intr-Flow, GFLA, DPIG)."""
