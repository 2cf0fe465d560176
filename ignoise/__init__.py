"""ignoise: a composable training-loop library on PyTorch Ignite for learning with noisy labels."""

__version__ = "0.1.0"
