"""PostgreSQL: a NOTIFY to wake the webhook workers when events are written (see outbox.py).

At most one per quarter second per connection: a transaction that NOTIFYs takes a database-wide
lock at commit, which every order would otherwise queue on. Set in the transaction, so it is
undone with it.
"""

from django.db import migrations

CREATE = """
CREATE FUNCTION events_event_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last_sent text := current_setting('orderservice.events_notified_at', true);
BEGIN
    IF last_sent IS NULL OR last_sent = ''
       OR clock_timestamp() - last_sent::timestamptz > interval '250 milliseconds' THEN
        PERFORM pg_notify('orderservice_events', '');
        PERFORM set_config('orderservice.events_notified_at', clock_timestamp()::text, false);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER events_event_notify AFTER INSERT ON events_event
    FOR EACH STATEMENT EXECUTE FUNCTION events_event_notify();
"""
DROP = """
DROP TRIGGER IF EXISTS events_event_notify ON events_event;
DROP FUNCTION IF EXISTS events_event_notify();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("events", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
