"""tickforge.engine."""
