"""The agent workspace: staff-facing pages (views with counts, the ticket page and its actions)."""
