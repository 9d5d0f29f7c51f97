-- Patient search through a full-text index instead of a LIKE scan of every patient per
-- keystroke. The trigram tokenizer keeps "contains" semantics (any 3 letters of a name, a
-- clinic number or a phone number), ignores case and accents ("Jose" finds "José"), and needs
-- no language rules. Contentless (it stores only the index, never a second copy of the names):
-- the rows come from `patients`, kept in step by the triggers below.
CREATE VIRTUAL TABLE patient_search USING fts5(
    names, numbers,
    content = '',
    contentless_delete = 1,
    tokenize = 'trigram remove_diacritics 1'
);

CREATE TRIGGER patient_search_insert AFTER INSERT ON patients BEGIN
    INSERT INTO patient_search (rowid, names, numbers)
    VALUES (new.rowid, new.given_name || ' ' || new.family_name,
            coalesce(new.clinic_id, '') || ' ' || coalesce(new.contact, ''));
END;

CREATE TRIGGER patient_search_update AFTER UPDATE ON patients BEGIN
    DELETE FROM patient_search WHERE rowid = old.rowid;
    INSERT INTO patient_search (rowid, names, numbers)
    VALUES (new.rowid, new.given_name || ' ' || new.family_name,
            coalesce(new.clinic_id, '') || ' ' || coalesce(new.contact, ''));
END;

CREATE TRIGGER patient_search_delete AFTER DELETE ON patients BEGIN
    DELETE FROM patient_search WHERE rowid = old.rowid;
END;

INSERT INTO patient_search (rowid, names, numbers)
SELECT rowid, given_name || ' ' || family_name,
       coalesce(clinic_id, '') || ' ' || coalesce(contact, '')
FROM patients;

-- Results are listed by family name then given name, case-insensitively: an index in that
-- order lets a page of an empty search stop after the page instead of sorting everyone.
CREATE INDEX patients_by_name ON patients (family_name COLLATE NOCASE, given_name COLLATE NOCASE);
