"""The customer portal: pages only (tierdesk/web/templates/portal/), on top of the tickets
and csat services. See docs/portal.md."""
