"""Models of the API face: tokens and stored idempotent responses."""
