"""The sans-I/O core: events, dialects, ordering rules, validator, session script, audio, stats.

Nothing in this package imports asyncio, websockets, socket or time; a test enforces it. Time
comes in as an argument, bytes and parsed events come in, and messages to send, violations and
results come out. The live client, the mock server and the offline ``validate`` command all drive
this same core.
"""
