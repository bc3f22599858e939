"""The SQLite store, settings records and the device secret."""

import sqlite3
import stat

import gevent
import pytest
from wtforms import Form, IntegerField, StringField
from wtforms.validators import DataRequired, Length, NumberRange

from doorctl.core.errors import Invalid, NotFound
from doorctl.core.settings import Settings
from doorctl.core.store import Store, migrations, secret_key


def test_store_uses_wal_full_sync_foreign_keys_and_migrates(tmp_path):
    store = Store(tmp_path)
    pragma = lambda name: store.execute(f"PRAGMA {name}").fetchone()[0]  # noqa: E731
    assert pragma("journal_mode") == "wal"
    assert pragma("synchronous") == 2
    assert pragma("foreign_keys") == 1
    assert pragma("user_version") == migrations()[-1][0]
    store.close()
    again = Store(tmp_path)
    assert again.version == migrations()[-1][0]


def test_migrations_are_numbered_without_gaps_or_repeats():
    numbers = [n for n, _ in migrations()]
    assert numbers == sorted(set(numbers))
    assert numbers[0] == 1


def test_failed_write_leaves_nothing_and_logs_no_event(tmp_path):
    store = Store(tmp_path)

    def twice(tx):
        tx.event("tns1:Configuration/Settings/Changed", {}, {"id": "a"})
        tx.execute("INSERT INTO settings VALUES ('a', '{}')")
        tx.execute("INSERT INTO settings VALUES ('a', '{}')")

    with pytest.raises(sqlite3.IntegrityError):
        store.write(twice)
    assert store.execute("SELECT count(*) FROM settings").fetchone()[0] == 0
    assert store.execute("SELECT count(*) FROM events").fetchone()[0] == 0


def test_secret_key_is_created_once_with_mode_0600(tmp_path):
    first = secret_key(tmp_path)
    assert len(first) == 32
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    assert secret_key(tmp_path) == first


class Example(Form):
    name = StringField(default="door", validators=[DataRequired(), Length(max=10)])
    seconds = IntegerField(default=7, validators=[NumberRange(1, 60)])


@pytest.fixture
def settings(tmp_path):
    settings = Settings(Store(tmp_path))
    settings.register("example", Example)
    return settings


def test_settings_have_defaults_and_keep_updates(settings):
    assert settings.get("example") == {"name": "door", "seconds": 7}
    seen = []
    settings.on_change("example", seen.append)
    settings.update("example", {"seconds": 20})
    assert settings.get("example") == {"name": "door", "seconds": 20}
    assert seen == [{"name": "door", "seconds": 20}]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"seconds": 0}, "seconds"),
        ({"seconds": "ten"}, "seconds"),
        ({"name": ""}, "name"),
        ({"name": "x" * 11}, "name"),
        ({"colour": 1}, "colour"),
    ],
)
def test_bad_settings_are_refused_per_field_and_keep_the_record(settings, changes, field):
    settings.update("example", {"seconds": 30})
    with pytest.raises(Invalid) as error:
        settings.update("example", changes)
    assert list(error.value.fields) == [field]
    assert settings.get("example") == {"name": "door", "seconds": 30}


def test_unknown_section_is_not_found(settings):
    with pytest.raises(NotFound):
        settings.get("nothing")


def test_a_write_waiting_for_the_database_lock_leaves_the_hub_running(doorctl):
    blocker = sqlite3.connect(doorctl.store.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock, as the log's may
    writing = gevent.spawn(doorctl.access.cardholders.create, {"name": "Waits"})
    ran_meanwhile = []

    def tick():
        while not writing.ready():
            ran_meanwhile.append(True)
            gevent.sleep(0.01)

    ticker = gevent.spawn(tick)
    gevent.sleep(0.3)
    blocker.execute("COMMIT")
    holder = writing.get(timeout=15)
    ticker.join()
    assert ran_meanwhile, "the hub stood still while the write waited for the lock"
    events, _ = doorctl.event_log.query(("tns1:Configuration/Cardholder/",))
    assert [e.key["id"] for e in events] == [holder["id"]]
