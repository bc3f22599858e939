"""The engine process: readers, the door engine and access decisions, apart from the web.

The web process's event loop waits for every ready page render between two of its
turns; a card read that needs two turns (the poll's timer, then the reply) waited for
both. In a process of its own the reader loop's turns wait for nothing but the
readers. The web process keeps the store, the event log, SSE, MQTT and the pages,
and talks to the engine over one Unix socket (link.py): events come up as JSON
lines, commands go down as requests with replies. See design.md, Process model.
"""
