-- Registration fit for rural clinics: a national (or other) identity number, a child's parent
-- or guardian, and whether the birth date was estimated from an age ("about 40"). All three are
-- set by patient_field_set operations, like every other demographic field; a NULL is "not
-- recorded". The search index now covers the identity number too.
ALTER TABLE patients ADD COLUMN national_id TEXT;
ALTER TABLE patients ADD COLUMN guardian TEXT;
ALTER TABLE patients ADD COLUMN birth_date_estimated INTEGER;

DROP TRIGGER patient_search_insert;
DROP TRIGGER patient_search_update;

CREATE TRIGGER patient_search_insert AFTER INSERT ON patients BEGIN
    INSERT INTO patient_search (rowid, names, numbers)
    VALUES (new.rowid, new.given_name || ' ' || new.family_name,
            coalesce(new.clinic_id, '') || ' ' || coalesce(new.contact, '') || ' ' || coalesce(new.national_id, ''));
END;

CREATE TRIGGER patient_search_update AFTER UPDATE ON patients BEGIN
    DELETE FROM patient_search WHERE rowid = old.rowid;
    INSERT INTO patient_search (rowid, names, numbers)
    VALUES (new.rowid, new.given_name || ' ' || new.family_name,
            coalesce(new.clinic_id, '') || ' ' || coalesce(new.contact, '') || ' ' || coalesce(new.national_id, ''));
END;

-- Two charts with one identity number are probably one person: found fast when registering.
CREATE INDEX patients_by_national_id ON patients (national_id) WHERE national_id IS NOT NULL;
