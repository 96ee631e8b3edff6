"""tickforge.service.paper."""
