"""Live panels over SSE: a page's panels come at once, and again when their state changes."""

from __future__ import annotations

import time


def messages(response):
    """The stream's SSE messages as (event name, HTML), comments left out."""
    for chunk in response.response:
        text = chunk.decode() if isinstance(chunk, bytes) else chunk
        for block in text.split("\n\n"):
            lines = block.splitlines()
            names = [line[7:] for line in lines if line.startswith("event: ")]
            if names:
                html = "\n".join(line[6:] for line in lines if line.startswith("data: "))
                yield names[0], html


def test_panels_come_at_once_then_on_each_change(logged_in, doorctl):
    response = logged_in.get("/live?panel=doors&panel=door-summary", buffered=False)
    assert response.mimetype == "text/event-stream"
    stream = messages(response)
    first = dict([next(stream), next(stream)])
    assert 'data-value="locked"' in first["doors"] and "Locked" in first["door-summary"]
    started = time.monotonic()
    doorctl.doors[1].command("lockdown")
    changed = dict([next(stream), next(stream)])
    assert time.monotonic() - started < 2  # pushed on the event, not on the next refresh
    assert 'data-value="locked_down"' in changed["doors"]
    assert "door-1-refusal" in changed["doors"]
    assert "Locked down" in changed["door-summary"]
    response.close()


def test_a_change_of_another_panel_sends_nothing(logged_in, doorctl):
    response = logged_in.get("/live?panel=doors&panel=alarms", buffered=False)
    chunks = iter(response.response)
    next(chunks)  # the panels as they are
    doorctl.doors[1].command("unlock")
    assert [name for name, _ in messages_of(next(chunks))] == ["doors"]
    response.close()


def messages_of(chunk):
    """The messages of one chunk."""

    class One:
        response = [chunk]

    return list(messages(One))


def test_unknown_panel_and_roles(app, logged_in, doorctl):
    from support import csrf_token, make_user

    assert logged_in.get("/live?panel=nothing").status_code == 404
    assert logged_in.get("/live").status_code == 400
    username, password = make_user(doorctl, "viewer")
    client = app.test_client()
    form = {"username": username, "password": password, "csrf_token": csrf_token(client)}
    client.post("/login", data=form)
    response = client.get("/live?panel=simulator&panel=doors", buffered=False)
    names = [name for name, _ in [next(messages(response))]]
    assert names == ["doors"]  # the simulator is for administrators only
    response.close()
    assert app.test_client().get("/live?panel=doors").status_code == 303  # to the login


def test_the_readers_panel_fills_the_peripherals_section(logged_in):
    """The Peripherals page keeps its live section; the stream sends what goes inside."""
    page = logged_in.get("/peripherals").get_data(as_text=True)
    assert 'sse-connect="/live?panel=readers"' in page and "every 1s" not in page
    response = logged_in.get("/live?panel=readers", buffered=False)
    name, html = next(messages(response))
    assert name == "readers" and 'id="readers"' in html and "<section" not in html
    response.close()


def test_no_page_polls_its_live_panels(logged_in):
    for path in ("/status", "/doors", "/alarms", "/io", "/simulator", "/peripherals"):
        page = logged_in.get(path).get_data(as_text=True)
        assert 'hx-trigger="every' not in page, path
        assert 'hx-ext="sse"' in page, path
