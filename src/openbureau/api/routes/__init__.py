"""API routes, one module per capability."""
