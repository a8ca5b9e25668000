"""The organization tree: city > district > street > community."""
