"""Perks and redemptions: what points buy, at a counter or reserved online."""
