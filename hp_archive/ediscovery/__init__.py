"""E-discovery: matters, legal holds, and court-ready productions."""
