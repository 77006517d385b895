"""salesforce package."""
