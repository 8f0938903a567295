"""The knowledge base: embeddings, the FAISS store, incremental indexing and retrieval."""
