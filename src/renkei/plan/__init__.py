"""plan domain: the annual plan's measures and its public comments (docs/plan.md)."""
