"""The Mycelium performance report (``uv run mycelium-bench``)."""
