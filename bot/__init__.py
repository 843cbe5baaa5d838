"""qabot's application layer: answering, the CLI and the Discord bot."""
