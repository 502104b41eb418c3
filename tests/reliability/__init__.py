"""Reliability suite: churn, slow consumers, vanished peers, restarts, bad input, fuzzing."""
