"""Users: accounts, roles, the first-admin bootstrap."""
