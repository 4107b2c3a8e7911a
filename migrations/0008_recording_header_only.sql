-- A WAV upload that is only its header (44 bytes, no samples: the leg answered but nothing was
-- recorded) is kept as `header_only`: stored, but not offered as the call's recording, and
-- replaced by any longer upload for the same call.
ALTER TABLE recordings DROP CONSTRAINT recordings_status_check;
ALTER TABLE recordings ADD CONSTRAINT recordings_status_check
    CHECK (status IN ('uploading', 'stored', 'empty', 'header_only'));
