"""tickforge.data."""
