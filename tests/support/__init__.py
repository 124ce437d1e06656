"""Helpers shared by test packages (servers on loopback, clocks); nothing pytest-specific."""
