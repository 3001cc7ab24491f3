"""Stand-in for Backend.AI's account manager package (demo workspace only)."""
