"""Entity builds (DESIGN 10, 11): plan the batches, run them atomically, test and report."""
