"""Mycelium: an in-process actor runtime for asyncio."""
