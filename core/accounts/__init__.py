"""Accounts: people, their roles, and signing in."""
