"""Point-in-time features per pillar: the published catalogue (rules) and Ibis jobs."""
