"""msme-rag test suite."""
