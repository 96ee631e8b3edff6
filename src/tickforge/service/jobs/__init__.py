"""tickforge.service.jobs."""
