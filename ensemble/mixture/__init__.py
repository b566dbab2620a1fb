"""The simulator mixture: the convex solver, its baselines and bootstrap, and the fit of a measurement."""
