"""Routes, one module per audience or screen."""
