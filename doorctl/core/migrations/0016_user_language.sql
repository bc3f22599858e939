-- Language (manual: "Change the language"): the language a user chose for the web
-- interface, kept with the user. NULL: follow the browser's preferred language.
ALTER TABLE users ADD COLUMN language TEXT;
