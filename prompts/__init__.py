"""Prompt texts and fixed user-facing messages, kept as plain constants a reviewer can diff."""
