-- Peripherals: how often an idle OSDP reader is polled, in milliseconds. A card
-- waits at most this long for its POLL; a shorter interval costs more CPU.
ALTER TABLE readers ADD COLUMN poll_interval INTEGER NOT NULL DEFAULT 15;
