-- Text that spells a lone UTF-16 surrogate (JSON "\ud800") can be stored but never
-- shown: it made every page and answer that held it fail. Input refuses it now; this
-- repairs what was stored before, in the JSON kept in settings, events, schedules and
-- the MQTT outbox. Each lone surrogate becomes U+FFFD (the replacement character);
-- a valid pair (an emoji written as "\ud83d\ude00") and every other escape is kept.
--
-- walk(original, done, rest, size) reads a JSON text one piece at a time: a run of
-- plain characters or one escape. A row with size NULL measures the next piece; the
-- row after it moves the piece from rest to done, replaced when it is a lone surrogate.

CREATE TEMP TABLE surrogate_repair (original TEXT PRIMARY KEY, repaired TEXT NOT NULL);

WITH RECURSIVE
found (original) AS (
    SELECT data FROM settings WHERE data LIKE '%\ud%'
    UNION SELECT source FROM events WHERE source LIKE '%\ud%'
    UNION SELECT data FROM events WHERE data LIKE '%\ud%'
    UNION SELECT key FROM events WHERE key LIKE '%\ud%'
    UNION SELECT intervals FROM schedules WHERE intervals LIKE '%\ud%'
    UNION SELECT exceptions FROM schedules WHERE exceptions LIKE '%\ud%'
    UNION SELECT CAST(payload AS TEXT) FROM mqtt_outbox WHERE CAST(payload AS TEXT) LIKE '%\ud%'
),
walk (original, done, rest, size) AS (
    SELECT original, '', original, NULL FROM found
    UNION ALL
    SELECT
        original,
        CASE
            WHEN size IS NULL THEN done
            WHEN size = 6 AND lower(substr(rest, 1, 6)) GLOB '\ud[89a-f]??' THEN done || '\ufffd'
            ELSE done || substr(rest, 1, size)
        END,
        CASE WHEN size IS NULL THEN rest ELSE substr(rest, size + 1) END,
        CASE
            WHEN size IS NOT NULL THEN NULL
            WHEN substr(rest, 1, 1) <> '\' THEN
                CASE WHEN instr(rest, '\') = 0 THEN length(rest) ELSE instr(rest, '\') - 1 END
            WHEN lower(substr(rest, 1, 12)) GLOB '\ud[89ab]??\ud[c-f]??' THEN 12
            WHEN substr(rest, 2, 1) = 'u' THEN 6
            ELSE 2
        END
    FROM walk
    WHERE rest <> ''
)
INSERT INTO surrogate_repair (original, repaired)
SELECT original, done FROM walk WHERE rest = '' AND done <> original;

UPDATE settings SET data = (SELECT repaired FROM surrogate_repair WHERE original = data)
WHERE data IN (SELECT original FROM surrogate_repair);
UPDATE events SET source = (SELECT repaired FROM surrogate_repair WHERE original = source)
WHERE source IN (SELECT original FROM surrogate_repair);
UPDATE events SET data = (SELECT repaired FROM surrogate_repair WHERE original = data)
WHERE data IN (SELECT original FROM surrogate_repair);
UPDATE events SET key = (SELECT repaired FROM surrogate_repair WHERE original = key)
WHERE key IN (SELECT original FROM surrogate_repair);
UPDATE schedules SET intervals = (SELECT repaired FROM surrogate_repair WHERE original = intervals)
WHERE intervals IN (SELECT original FROM surrogate_repair);
UPDATE schedules SET exceptions = (
    SELECT repaired FROM surrogate_repair WHERE original = exceptions
) WHERE exceptions IN (SELECT original FROM surrogate_repair);
UPDATE mqtt_outbox SET payload = CAST((
    SELECT repaired FROM surrogate_repair WHERE original = CAST(payload AS TEXT)
) AS BLOB) WHERE CAST(payload AS TEXT) IN (SELECT original FROM surrogate_repair);

DROP TABLE surrogate_repair;
