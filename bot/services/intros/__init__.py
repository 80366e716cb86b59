"""Intros: allybot pairs people from a channel every few weeks in a group DM, then asks
"Did you meet?". One module per thing that changes on its own:

    rules     when a round is due, statuses and limits, who counts as in the pool
    members   join, leave, pause, resume, the never list, where a person stands
    rounds    planning, claiming and matching a round (Slack kept out: the scheduler passes
              the channel's members in)
    history   who was matched with whom, contact in allybot's records, never pairs
    starters  the conversation starters
    posts     the group posts of each match (introduction, follow-up)
    answers   "Did you meet?" → Yes / Not yet / Skip
    figures   counts per round for the admins' report
"""
