"""The runner: expands systems x seeds into trials, runs them, keeps the run directory."""
