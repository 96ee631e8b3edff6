"""tickforge.strategies."""
