-- Peripherals: the reader connector carries OSDP readers or the Wiegand reader, never
-- both; `enabled` says whether the Wiegand reader is in use (OSDP readers always are).
ALTER TABLE readers ADD COLUMN enabled INTEGER NOT NULL DEFAULT 1;
