"""Honor rolls: published, masked rankings of the most active volunteers of a subtree."""
