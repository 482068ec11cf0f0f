"""Chat domain: plain Python, no FastAPI, no os.environ. Talks to the world through `ports`."""
