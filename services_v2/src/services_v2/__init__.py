"""Trading services built on the Mycelium actor runtime."""
