"""tickforge.data.sources."""
