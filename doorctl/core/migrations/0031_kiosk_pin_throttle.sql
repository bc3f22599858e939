-- Kiosk display: the throttle on wrong operator PINs is kept here, so that a restart
-- does not forget it: wrong PINs in the current run, runs of failures so far (each
-- run's block is twice the last one's, up to an hour), and when the block ends (epoch).
ALTER TABLE kiosk ADD COLUMN pin_wrong INTEGER NOT NULL DEFAULT 0;
ALTER TABLE kiosk ADD COLUMN pin_runs INTEGER NOT NULL DEFAULT 0;
ALTER TABLE kiosk ADD COLUMN pin_blocked_until REAL NOT NULL DEFAULT 0;
