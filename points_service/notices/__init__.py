"""Notices: short messages the service leaves for a person, read on their home page."""
