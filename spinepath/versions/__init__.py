"""Versions of the clinic's facts, kept by the database itself (see triggers.py)."""
