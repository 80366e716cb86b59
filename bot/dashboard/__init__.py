"""allybot's web dashboard behind Sign in with Slack: workspace insights and settings for
admins, each person's own page for everyone."""

from bot.dashboard.routes import mount, status_line

__all__ = ["mount", "status_line"]
