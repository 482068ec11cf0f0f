"""Attachments for the chat service: documents (extraction, summaries, excerpts) and images."""
