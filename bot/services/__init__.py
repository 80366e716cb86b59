"""Domain rules: they take a session and plain values, import nothing from Slack, and flush."""
