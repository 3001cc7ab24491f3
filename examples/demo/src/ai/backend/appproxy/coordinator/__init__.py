"""Stand-in for Backend.AI's app-proxy coordinator package (demo workspace only)."""
