-- custos-hub schema, version 1: what the sled store keeps in DIR/db, as tables.
-- Applied once, in one transaction, by the first hub instance that starts on the
-- database (the others wait for it, then find schema_version at 1).

CREATE TABLE devices (
    id              uuid PRIMARY KEY,
    pin             text NOT NULL UNIQUE,
    label           text NOT NULL,
    role            text NOT NULL CHECK (role IN ('field', 'coordinator')),
    signer          text NOT NULL,
    vault_recipient text NOT NULL,
    enrolled_at     timestamptz NOT NULL,
    revoked         boolean NOT NULL DEFAULT false
);

-- Never the token: its SHA-256.
CREATE TABLE invites (
    token_sha256 bytea PRIMARY KEY,
    role         text NOT NULL CHECK (role IN ('field', 'coordinator')),
    created      timestamptz NOT NULL,
    expires      timestamptz NOT NULL,
    used_by      text
);

CREATE TABLE coordinators (
    position  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recipient text NOT NULL UNIQUE
);

CREATE TABLE settings (
    name  text PRIMARY KEY,
    value text NOT NULL
);

-- The last sequence number given. Every push locks this one row before it numbers its
-- objects and keeps the lock until it commits, so pushes number and commit in turn: any
-- reader sees a prefix of the sequence, never seq n+1 without seq n, and a device whose
-- cursor passed n can never miss an object numbered n later.
CREATE TABLE seq_counter (
    one  boolean PRIMARY KEY DEFAULT true CHECK (one),
    last bigint NOT NULL CHECK (last >= 0)
);
INSERT INTO seq_counter (last) VALUES (0);

-- Object ids are unique: the same id twice is refused by the database itself.
CREATE TABLE objects (
    seq        bigint PRIMARY KEY,
    id         uuid NOT NULL UNIQUE,
    audience   text[] NOT NULL,
    pushed_by  uuid NOT NULL,
    received   timestamptz NOT NULL,
    sha256     bytea NOT NULL,
    len        bigint NOT NULL,
    ciphertext bytea NOT NULL
);
-- Ciphertext does not compress: do not try.
ALTER TABLE objects ALTER COLUMN ciphertext SET STORAGE EXTERNAL;

CREATE TABLE blobs (
    id          uuid PRIMARY KEY,
    size        bigint NOT NULL,
    sha256      text NOT NULL,
    audience    text[] NOT NULL,
    received    bigint NOT NULL,
    complete    boolean NOT NULL,
    pushed_by   uuid NOT NULL,
    received_at timestamptz NOT NULL
);

-- Blob bytes, when the operator keeps them in PostgreSQL: the chunks as they arrived,
-- covering [0, received) without gaps.
CREATE TABLE blob_chunks (
    blob uuid NOT NULL,
    pos  bigint NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (blob, pos)
);
ALTER TABLE blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
