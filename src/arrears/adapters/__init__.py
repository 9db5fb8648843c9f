"""Adapters: the store, channels, snapshots, files. Everything that touches the outside world."""
