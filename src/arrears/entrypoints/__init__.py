"""Entrypoints: thin layers that parse input, call a service, and render the result."""
