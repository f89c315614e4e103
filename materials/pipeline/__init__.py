"""Turning uploaded materials (PDFs, transcripts) into clean text and passages."""
