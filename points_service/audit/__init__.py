"""The audit log: who changed what, before and after, for every staff or admin write."""
