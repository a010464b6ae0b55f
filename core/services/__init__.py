"""Application services: plain async functions that take their dependencies."""
