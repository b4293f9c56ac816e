"""Engineering bugs: tickets wait on engineering, L3 verifies the fix and answers everyone."""
