"""Versioned rule sets that turn verified minutes into points, and star levels."""
