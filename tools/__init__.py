"""Dev tooling of the repository (not part of the ddbstream package)."""
