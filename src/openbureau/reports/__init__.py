"""The subject report: what the bureau holds about one subject, with sources and the score."""
