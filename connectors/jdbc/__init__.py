"""jdbc package."""
