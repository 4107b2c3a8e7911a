-- Every replica keeps directory answers in memory; any change to extensions tells all of them
-- (LISTEN callplane_directory) to forget what they hold.
CREATE FUNCTION callplane_notify_directory() RETURNS trigger
    LANGUAGE plpgsql
    AS $$ BEGIN PERFORM pg_notify('callplane_directory', TG_OP); RETURN NULL; END $$;

CREATE TRIGGER extensions_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON extensions
    FOR EACH STATEMENT EXECUTE FUNCTION callplane_notify_directory();
