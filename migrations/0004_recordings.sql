-- Recordings: what an upload stored, keyed by call uuid. A recording may arrive for a call
-- placed by the dialplan, which has no calls row, so call_uuid deliberately has no foreign key.
ALTER TABLE recordings
    -- The stored format (wav, mp3, ogg, flac, amr, bin): the key's extension.
    ADD COLUMN format text NOT NULL DEFAULT 'bin',
    -- uploading: claimed by an upload in progress; stored: in object storage or its spool;
    -- empty: a zero-byte upload (the call was not answered), nothing stored.
    ADD COLUMN status text NOT NULL DEFAULT 'stored'
        CHECK (status IN ('uploading', 'stored', 'empty')),
    -- The file name the upload carried, for operators only (never used in a path).
    ADD COLUMN file_name text,
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
