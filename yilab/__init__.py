"""yilab: a local lab for prompt experiments on MLX language models."""

__version__ = "0.1.0"
