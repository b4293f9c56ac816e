"""Customer satisfaction (CSAT): a customer rates the answer to their solved ticket, 1-5."""
