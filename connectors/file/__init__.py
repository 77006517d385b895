"""file package."""
