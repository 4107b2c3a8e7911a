-- CDR ingest: what the first-cut `cdrs` table lacked.
--
-- Identity stays (core_uuid, uuid): the switch's core-uuid ('' when an old FreeSWITCH wrote
-- none) and the leg's uuid, whatever body format carried the CDR. A CDR whose document cannot
-- be read is still stored (parsed = false) under the uuid FreeSWITCH put in the query string,
-- or a digest of its body, so a repost of it is still stored once.

-- How the post carried the document: form_urlencoded, form_base64, form_plain, xml, json,
-- base64 or unknown.
ALTER TABLE cdrs ADD COLUMN encoding text NOT NULL DEFAULT 'unknown';
-- 'a' for the originating leg, 'b' for a leg FreeSWITCH originated (it has an originator).
ALTER TABLE cdrs ADD COLUMN leg text CHECK (leg IN ('a', 'b'));
-- The `uuid` query parameter of the post (mod_xml_cdr's `a_` prefix removed), kept to show
-- mismatches with the body, which wins.
ALTER TABLE cdrs ADD COLUMN query_uuid text;
-- Why the document could not be parsed.
ALTER TABLE cdrs ADD COLUMN parse_error text;
-- Loaded by `callplane import-cdrs` from FreeSWITCH's err-log-dir rather than posted live.
ALTER TABLE cdrs ADD COLUMN late boolean NOT NULL DEFAULT false;
-- Stored in the table but posted CDRs can be large: keep the size for listings.
ALTER TABLE cdrs ADD COLUMN raw_size integer NOT NULL DEFAULT 0;

-- Lists are newest first by call start; unparsed CDRs sort by arrival.
CREATE INDEX cdrs_newest ON cdrs ((coalesce(start_time, received_at)) DESC, id DESC);
-- Leg linking looks rows up by uuid and by the other leg's uuid.
CREATE INDEX cdrs_uuid ON cdrs (uuid);
CREATE INDEX cdrs_other_uuid ON cdrs (other_uuid);
