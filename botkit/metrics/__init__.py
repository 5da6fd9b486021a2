"""Metrics: what botkit measures from its records."""
