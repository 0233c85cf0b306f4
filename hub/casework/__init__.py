"""What the hub knows about a matter and owes on it: joining, deadlines, the linkage
office, transfers, reports, owners, risks and the audit chain."""
