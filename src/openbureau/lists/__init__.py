"""Black and red lists kept through due process (see docs/lists.md)."""
