-- Users: the generation of a user's sessions. A session cookie names the generation
-- it was made in; logout, a new password or a new role starts the next one, so every
-- cookie saved before stops working.
ALTER TABLE users ADD COLUMN sessions INTEGER NOT NULL DEFAULT 0;
