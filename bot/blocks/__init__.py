"""Block Kit builders: pure functions from values to slack_sdk models."""
