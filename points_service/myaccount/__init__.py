"""A volunteer's own account: mobile number, public lists, a copy of their data, deletion."""
