"""The command line, ``alphacut photo.jpg``: argument parsing (:mod:`.main`), planning a batch of
files (:mod:`.batch`), and running it here (:mod:`.runner`) or on a Ray cluster (:mod:`.ray_batch`)."""
from .main import main

__all__ = ["main"]
