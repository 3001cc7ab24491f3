"""Stand-in for Backend.AI's manager package (demo workspace only)."""
