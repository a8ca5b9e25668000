"""Activities, sign-ups, check-in and service records: verified hours."""
