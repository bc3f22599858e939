-- Date and time (System > Date and time): the device's time zone moves there from
-- Access settings, where it only set the zone of schedules. A zone chosen there
-- becomes the device's.
INSERT INTO settings (section, data)
SELECT 'date_time', json_object('time_zone', json_extract(data, '$.time_zone'))
FROM settings
WHERE section = 'access' AND coalesce(json_extract(data, '$.time_zone'), '') != ''
ON CONFLICT (section) DO NOTHING;
UPDATE settings SET data = json_remove(data, '$.time_zone') WHERE section = 'access';
