"""SLA business-time arithmetic."""
