"""Tests over real parts: files, the embedding model, FAISS, SQL, HTTP servers."""
