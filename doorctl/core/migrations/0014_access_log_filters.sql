-- The access log's filters by cardholder and by door find their events by index: a
-- filter on a cardholder with no events no longer reads every event's JSON. The
-- expressions are the ones core/logs/access_log.py queries with, word for word.
CREATE INDEX IF NOT EXISTS events_cardholder ON events (json_extract(data, '$.cardholder_id'), id);
CREATE INDEX IF NOT EXISTS events_door ON events (json_extract(source, '$.door'), id);
