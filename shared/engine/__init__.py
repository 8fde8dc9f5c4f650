"""The collection engine: campaigns, the sweep, guards, outreach, post-call, upkeep, promises, payment claims, opt-outs, handoff, stats, inbound turns."""
