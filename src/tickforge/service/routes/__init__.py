"""tickforge.service.routes."""
