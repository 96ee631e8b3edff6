"""tickforge.service."""
