"""The collection engine: campaigns, the sweep, guards, outreach, the send-rate limiter, post-call, upkeep, promises, payment claims, opt-outs, handoff, stats, inbound turns."""
