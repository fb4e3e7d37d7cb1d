"""Shared message types for Mycelium services."""
