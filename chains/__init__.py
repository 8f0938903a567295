"""LCEL chains: each module holds one typed factory returning a named Runnable."""
