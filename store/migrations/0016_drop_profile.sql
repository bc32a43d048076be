-- The profile column held the settings' prof= value (ums.ProfileOf), a copy
-- written with every row and thrown away when a user was read. The two
-- queries that filter by profile take it from the settings themselves
-- (store/users.go, profileIs). The column is indexed and named by the
-- row-version trigger, so both go first and the trigger is made again
-- without it (otherwise as in 0011).
DROP TRIGGER users_version_update;
DROP INDEX users_profile;
ALTER TABLE users DROP COLUMN profile;
CREATE TRIGGER users_version_update AFTER UPDATE OF
    anchor, dn, sam_account_name, given_name, surname, display_name, mail, department, extension, phone,
    mobile, fax_numbers, enabled, state, deactivation_reason, first_seen, updated_at, deactivated_at,
    settings, base, license, license_since, phantom, overrides, alias_numbers
    ON users WHEN NEW.version = OLD.version BEGIN
    UPDATE change_seq SET value = value + 1 WHERE id = 1;
    UPDATE users SET version = (SELECT value FROM change_seq WHERE id = 1) WHERE anchor = NEW.anchor;
END;
