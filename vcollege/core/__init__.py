"""Core: Parties, people, roles and permissions, staff accounts, API tokens, audit log."""
