-- custos-hub schema, version 2: the organisation's signed roster log
-- (docs/sync-protocol.md §5, crates/wire/src/roster_log.rs). Applied at start to a
-- database a hub of before the signed roster made (version 1) as to a new one.

-- One row per entry, numbered from 1 without gaps. The entry is the JSON the hub checked,
-- kept as text: the hub reads it back into the same entry, whose signature it verified.
-- Appends take turns under an advisory lock; the primary key refuses a second entry
-- with a number whatever happens.
CREATE TABLE roster_log (
    seq   bigint PRIMARY KEY CHECK (seq >= 1),
    entry text NOT NULL
);
