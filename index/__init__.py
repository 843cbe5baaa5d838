"""The core of qabot: sources -> chunks -> embeddings -> FAISS + SQLite -> ranked sentences."""
