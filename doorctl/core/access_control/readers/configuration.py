"""Add, configure and remove readers: the checks, a bus's sharing rules, the writes to the store."""

from __future__ import annotations

from flask_babel import gettext as _

from doorctl.core.errors import Conflict, Invalid, NotFound
from doorctl.core.logs.audit import audit
from doorctl.core.settings import first_errors, type_errors
from doorctl.core.store import Transaction

from .bus import port_opens, port_problem
from .form import (
    BUS_FIELDS,
    FIELDS,
    KEY_FIELD,
    KEY_SET_FIELD,
    LIVE_DEFAULTS,
    READERS_PER_BUS,
    SHARED_FIELDS,
    WIEGAND_ID,
    ReaderForm,
    defaults,
    key_bytes,
    summary,
)
from .topics import TAMPER

KIND = "Reader"


class ReaderConfiguration:
    """Readers' add, update and remove: each stored with its audit event, then taken into use."""

    def add(self, body: dict) -> dict:
        """Add an OSDP reader; raise Invalid or Conflict naming every bad field at once."""
        reader, key = self._checked({**defaults(), **body}, None)
        self.store.write(_insert, reader, self._key_entry(reader, key))
        self._configured(reader, {reader["port"]})
        return self.get(reader["id"])

    def update(self, reader_id: str, changes: dict) -> dict:
        """Configure a reader; only its bus restarts, and only if the bus settings changed."""
        current = self._config(reader_id)
        reader, key = self._checked({**current, **changes, "id": reader_id}, current)
        # A new key is taken into use by a new handshake: the bus restarts as for a move.
        moved = key is not None or any(reader[k] != current[k] for k in BUS_FIELDS)
        shared = reader["protocol"] == "osdp" and reader["port"] == current["port"]
        self.store.write(_update, reader, shared, self._key_entry(reader, key))
        if shared:
            self._share(reader)
        self._configured(reader, {current["port"], reader["port"]} if moved else set())
        return self.get(reader_id)

    def _checked(self, body: dict, current: dict | None) -> tuple[dict, bytes | None]:
        """The clean reader and its new key, else every problem at once: Invalid (400)
        if any field is malformed, else Conflict (409) for what the stored readers refuse."""
        wrong = type_errors({"id": "", **defaults()}, body)
        reader, errors = self._validate({k: v for k, v in body.items() if k not in wrong})
        errors.update(wrong)
        conflict = self._conflicts(reader, current, errors)
        if errors:
            raise Invalid(errors, summary(errors))
        if conflict is not None:
            raise conflict
        return reader, reader.pop(KEY_FIELD)

    def _conflicts(self, reader: dict, current: dict | None, errors: dict) -> Conflict | None:
        """Run the checks against the stored readers whose fields are well-formed; their
        messages join `errors` when some field is malformed, else they are the Conflict."""
        found: Conflict | None = None
        for needs, check in self._cross_checks(reader, current):
            if needs & set(errors):
                continue
            try:
                check()
            except Invalid as problem:
                errors.update({k: v for k, v in problem.fields.items() if k not in errors})
            except Conflict as problem:
                found = found or Conflict(problem.message)
                for name, message in problem.fields.items():
                    found.fields.setdefault(name, message)
        if found is not None and errors:
            errors.update({k: v for k, v in found.fields.items() if k not in errors})
        if found is not None and len(found.fields) > 1:
            found.message = summary(found.fields)
        return found

    def _cross_checks(self, reader: dict, current: dict | None) -> list:
        """(fields a check reads, the check) for an added (current None) or changed reader."""
        osdp = reader["protocol"] == "osdp"
        bus = {"port", "address", "baud", "poll_interval"}
        if current is None:
            checks = [({"id", "protocol"}, lambda: self._new_id(reader))]
            if not osdp:
                return checks
            checks += [(bus, lambda: self._check_bus(reader))]
            checks += [({"port", "enabled"}, lambda: self._check_connector(reader))]
            return [*checks, ({"port", "baud"}, lambda: self._check_port(reader))]
        checks = [({"protocol"}, lambda: self._same_protocol(reader, current))]
        checks += [({"port", "enabled"}, lambda: self._check_connector(reader, current))]
        moved = reader.get(KEY_FIELD) is not None or any(
            reader[k] != current[k] for k in BUS_FIELDS
        )
        if osdp and moved:
            same_bus = reader["port"] == current["port"]
            checks += [(bus, lambda: self._check_bus(reader, shared=not same_bus))]
            if not same_bus:
                checks += [({"port", "baud"}, lambda: self._check_port(reader))]
        return checks

    def _new_id(self, reader: dict) -> None:
        if reader["protocol"] == "wiegand":
            raise Conflict(
                _("The Wiegand reader is the board's own; configure it instead."),
                {"protocol": _("There is only one Wiegand reader: the board's.")},
            )
        if reader["id"] in self._configs:
            raise Conflict(
                _("There is already a reader %(reader)s.", reader=reader["id"]),
                {"id": _("Another reader has this id; choose another.")},
            )

    @staticmethod
    def _same_protocol(reader: dict, current: dict) -> None:
        if reader["protocol"] != current["protocol"]:
            raise Invalid({"protocol": _("Remove the reader and add it again to change it.")})

    def _share(self, reader: dict) -> None:
        """A bus setting changed on one reader is the bus's: its other reader follows."""
        values = {k: reader[k] for k in SHARED_FIELDS}
        for config in self.ports().get(reader["port"], []):
            config.update(values)

    def remove(self, reader_id: str) -> None:
        """Remove an OSDP reader; the other reader on its bus is polled again at once."""
        config = self._config(reader_id)
        if config["protocol"] == "wiegand":
            raise Conflict(_("The Wiegand reader is the board's own and can't be removed."))
        self.store.write(_delete, reader_id)
        if self._status.get(reader_id, {}).get("tamper"):
            # A removed reader's tamper ends with it (the alarm must not outlive it).
            self._publish(TAMPER, reader_id, {"tamper": False}, property=True)
        self._stop_failing(reader_id)
        del self._configs[reader_id]
        self.access.remove_reader(reader_id)
        self._status.pop(reader_id, None)
        self._restart({config["port"]})

    def _configured(self, reader: dict, ports: set[str]) -> None:
        """Take a stored reader into use: access control knows it, its bus restarts."""
        self._configs[reader["id"]] = reader
        self._add_to_access(reader)
        if ports:
            self._status.pop(reader["id"], None)
            self._stop_failing(reader["id"])
            self._restart(ports)

    def _validate(self, body: dict) -> tuple[dict, dict[str, str]]:
        """The reader record as far as it is well-formed, and each bad field's message."""
        known = {*FIELDS, *LIVE_DEFAULTS, KEY_FIELD, KEY_SET_FIELD}
        errors = {name: _("Not a field of a reader.") for name in sorted(set(body) - known)}
        form = ReaderForm(
            data={**{k: body.get(k) for k in FIELDS}, KEY_FIELD: body.get(KEY_FIELD, "")}
        )
        errors.update({} if form.validate() else first_errors(form))
        if form.secure_channel_key.data and form.protocol.data != "osdp":
            errors.setdefault(KEY_FIELD, _("Only OSDP readers have a secure channel key."))
        if "door_id" not in errors and form.door_id.data not in self.doors:
            doors = ", ".join(map(str, sorted(self.doors)))
            errors["door_id"] = _("There is no such door; choose one of: %(doors)s.", doors=doors)
        port = form.port.data.strip() if isinstance(form.port.data, str) else ""
        if "port" not in errors and form.protocol.data == "osdp":
            problem = port_problem(port, self.test_ports)
            errors.update({"port": problem} if problem else {})
        reader = {k: form.data[k] for k in FIELDS}
        reader["port"] = port if reader["protocol"] == "osdp" else ""
        # Write-only: an empty key keeps the stored one.
        key = form.secure_channel_key.data if KEY_FIELD not in errors else ""
        reader[KEY_FIELD] = key_bytes(key) if isinstance(key, str) and key else None
        return reader, errors

    def _key_entry(self, reader: dict, key: bytes | None):
        """The key store's part of a reader's change: the administrator's key, if any."""
        if key is None:
            return None
        source = self._source(reader)
        return lambda tx: self.keys.enter(tx, reader["id"], key, source)

    def _check_bus(self, reader: dict, shared: bool = True) -> None:
        """At most two readers on a bus, each at its own address; a reader joining a
        bus (`shared`) must have the bus's baud rate and poll interval."""
        others = [c for c in self.ports().get(reader["port"], []) if c["id"] != reader["id"]]
        port = reader["port"]
        if len(others) >= READERS_PER_BUS:
            raise Conflict(
                _("The bus %(port)s has %(num)d readers already.", port=port, num=len(others)),
                {"port": _("A bus takes at most %(num)d OSDP readers.", num=READERS_PER_BUS)},
            )
        if any(c["address"] == reader["address"] for c in others):
            raise Conflict(
                _("Another reader on %(port)s has this address.", port=port),
                {"address": _("Each reader on a bus needs its own address.")},
            )
        shared_values = {
            "baud": _("The readers on one bus share its baud rate (%(value)s)."),
            "poll_interval": _("The readers on one bus share its poll interval (%(value)s ms)."),
        }
        for field, message in shared_values.items():
            if shared and others and others[0][field] != reader[field]:
                text = message % {"value": others[0][field]}
                raise Conflict(text, {field: text})

    def _check_connector(self, reader: dict, current: dict | None = None) -> None:
        """The reader connector carries OSDP readers or the Wiegand reader, never both:
        a change that would put both on it is refused (raise Conflict naming the field)."""
        connector = self.board.rs485_port if self.board is not None else ""
        if not connector:
            return
        if reader["protocol"] == "osdp":
            joins = reader["port"] == connector and (current or {}).get("port") != connector
            if joins and self._configs.get(WIEGAND_ID, {}).get("enabled"):
                raise Conflict(
                    _(
                        "The reader connector (%(port)s) carries the Wiegand reader.",
                        port=connector,
                    ),
                    {
                        "port": _(
                            "%(port)s is the reader connector, which carries the Wiegand "
                            "reader; it carries one or the other. Take the Wiegand reader out "
                            "of use first, or use another port.",
                            port=connector,
                        )
                    },
                )
        elif reader["enabled"] and not current["enabled"]:
            on_connector = [c["id"] for c in self.ports().get(connector, [])]
            if on_connector:
                raise Conflict(
                    _("The reader connector (%(port)s) carries OSDP readers.", port=connector),
                    {
                        "enabled": _(
                            "The reader connector (%(port)s) carries the OSDP readers %(readers)s; "
                            "it carries one or the other. Remove them or move them to another port "
                            "first.",
                            port=connector,
                            readers=", ".join(on_connector),
                        )
                    },
                )

    def _check_port(self, reader: dict) -> None:
        """A new bus's port must open (a running bus's port is open already)."""
        if self._open_bus(reader["port"]) is not None:
            return
        problem = port_opens(reader["port"], reader["baud"])
        if problem:
            raise Invalid({"port": problem})


# --- writes: each runs in one transaction with its audit event (Store.write) -----------


def _insert(tx: Transaction, reader: dict, key_entry) -> None:
    tx.execute(
        f"INSERT INTO readers ({', '.join(FIELDS)}) VALUES ({', '.join('?' * len(FIELDS))})",
        tuple(reader[k] for k in FIELDS),
    )
    audit(tx, KIND, "create", reader["id"])
    if key_entry is not None:
        key_entry(tx)


def _update(tx: Transaction, reader: dict, shared: bool, key_entry) -> None:
    """Store a reader; with `shared`, the bus settings go to the other reader on its port."""
    assignments = ", ".join(f"{k} = ?" for k in FIELDS[1:])
    cursor = tx.execute(
        f"UPDATE readers SET {assignments} WHERE id = ?",
        (*(reader[k] for k in FIELDS[1:]), reader["id"]),
    )
    if not cursor.rowcount:
        raise NotFound(f"There is no reader {reader['id']!r}.")
    if shared:
        assignments = ", ".join(f"{k} = ?" for k in SHARED_FIELDS)
        tx.execute(
            f"UPDATE readers SET {assignments} WHERE protocol = 'osdp' AND port = ?",
            (*(reader[k] for k in SHARED_FIELDS), reader["port"]),
        )
    audit(tx, KIND, "update", reader["id"])
    if key_entry is not None:
        key_entry(tx)


def _delete(tx: Transaction, reader_id: str) -> None:
    if not tx.execute("DELETE FROM readers WHERE id = ?", (reader_id,)).rowcount:
        raise NotFound(f"There is no reader {reader_id!r}.")
    audit(tx, KIND, "delete", reader_id)
