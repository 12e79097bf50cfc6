"""The paperfund process: feeds, supervisor, persistence, control plane, CLI."""
