"""The supervisor dashboard: what a team lead checks first (see docs/dashboard.md)."""
