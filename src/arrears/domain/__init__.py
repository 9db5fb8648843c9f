"""The domain layer: pure Python, no I/O. Every rule of the product lives here once."""
