"""One thin script per page; each starts with ``require_role``."""
