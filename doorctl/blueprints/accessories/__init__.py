"""Accessories: the I/O ports."""
