"""In-app notifications for staff (SLA warnings, breaches, escalations)."""
