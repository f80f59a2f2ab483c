"""Council bots, written only against the public API; copy one to start a new bot."""
