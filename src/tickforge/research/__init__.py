"""tickforge.research."""
