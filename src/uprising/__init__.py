"""uprising: fast, faithful agent-based simulation of civil unrest."""
