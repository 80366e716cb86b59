"""Prometheus metrics that allybot exposes on /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "allybot_requests_total", "Requests on /slack/events by kind and outcome", ["kind", "outcome"]
)
REQUEST_SECONDS = Histogram(
    "allybot_request_seconds",
    "Time from receiving a Slack request to answering it",
    ["kind"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
HANDLER_SECONDS = Histogram(
    "allybot_handler_seconds",
    "Time spent processing a delivery after the ack",
    ["kind"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
DELIVERIES = Counter(
    "allybot_deliveries_total",
    "Slack deliveries after the ack: recorded, duplicate, done, retry, failed, lost",
    ["kind", "outcome"],
)
SLACK_CALLS = Counter("allybot_slack_api_calls_total", "Slack Web API calls", ["method"])
SLACK_ERRORS = Counter(
    "allybot_slack_api_errors_total", "Slack Web API calls that failed", ["method", "error"]
)
NUDGES_PLANNED = Counter("allybot_nudges_planned_total", "Nudges planned", ["kind"])
PLAN_SECONDS = Histogram(
    "allybot_plan_seconds",
    "Time one kind takes to plan in a scheduler pass",
    ["kind"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
MESSAGES = Counter(
    "allybot_messages_total",
    "Messages the scheduler sent (daily DMs, intros posts, digests) by outcome: sent, retry,"
    " failed, cancelled, resent (possible duplicate)",
    ["outcome"],
)
