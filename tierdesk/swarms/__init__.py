"""Swarming: the owner keeps the ticket and pulls in colleagues with the right skills."""
