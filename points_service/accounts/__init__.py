"""People: users, role memberships on organization nodes, volunteer profiles."""
