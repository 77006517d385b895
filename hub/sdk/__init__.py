"""sdk package."""
