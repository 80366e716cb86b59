"""The top of allybot: process entry points that wire the layers below together.

Layers, top-down (each imports only those below it):
    allybot/    composition: `create_app` (Bolt + web), the `allybot` command, worker processes
    handlers/   Bolt listeners: parse a payload, call a service, render blocks, reply
    scheduler/  the clock, planners (state → rows) and the one sender (rows → Slack)
    bot/        the domain: settings, database, models, services, Block Kit views
"""
