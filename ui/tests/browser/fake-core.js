// A stateful stand-in for the Rust core, installed in the page as window.__TAURI_INTERNALS__.
// It answers the same commands with the same shapes and typed errors, so the UI's flows can be
// driven in a plain browser. The real core is exercised by the Rust and WebDriver tests.
export function installFakeCore(seed) {
  const state = Object.assign(
    { profile: 'notCreated', users: [], passphrases: {}, current: null, patients: [], encounters: [], notes: [], vitals: [], audit: [], backups: {}, attachments: [], allergies: [], reviews: [], medications: [], problems: [], clock: Date.now() },
    seed.state || {},
  );
  const calls = [];
  window.__OUTPOST_CALLS__ = calls;
  const id = () => Math.random().toString(16).slice(2).padEnd(32, '0').slice(0, 32);
  const now = () => (state.clock += 1000);
  const activeAllergies = (patientId) => state.allergies.filter((a) => a.patient_id === patientId && a.removed_at === null);
  // As the core sends an error: what to do about it, and, where a test needs the UI to say it in
  // another language, its code and named parameters.
  const fail = (kind, message, code, params) => {
    throw message === undefined ? { kind } : code === undefined ? { kind, message } : { kind, message, code, params };
  };
  // As the core does: an age given instead of a birth date is today's date that many years ago.
  const estimatedBirth = (patient) => {
    if (patient.estimated_age_years == null) return patient.birth_date;
    const d = new Date(now());
    return `${d.getUTCFullYear() - patient.estimated_age_years}-${String(d.getUTCMonth() + 1).padStart(2, '0')}-${String(d.getUTCDate()).padStart(2, '0')}`;
  };
  const needUnlocked = () => state.current || fail('locked');
  const audit = (action, record_id = null) =>
    state.audit.push({ device: 'd'.repeat(32), seq: state.audit.length + 1, at: now(), actor: state.current?.id ?? null, action, record_kind: null, record_id, patient_id: null, detail: null, legacy: false });
  const rev = () => id() + id();
  // The real core hashes the canonical text; any stable function of the text does here.
  const contentHash = (n) => JSON.stringify([n.id, n.soap]);
  const withHash = (n) => ({ ...n, content_hash: contentHash(n) });
  const handlers = {
    app_info: () => ({ ...seed.info, status: { ...seed.info.status, profile: state.current ? 'unlocked' : state.users.length ? 'locked' : 'notCreated' } }),
    profile_users: () => (state.users.length ? state.users : fail('noProfile')),
    create_profile: ({ name, role, passphrase }) => {
      if (state.users.length) fail('invalid', 'a profile already exists here');
      if (passphrase.length < 8) fail('invalid', 'invalid passphrase: must be at least 8 characters');
      const u = { id: id(), name, role };
      state.users.push(u);
      state.passphrases[u.id] = passphrase;
      state.current = u;
      audit('profile_created');
      return 'ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-2345-6789-ABCD-EFGH-JKMN-PQRS-TVWX';
    },
    unlock: ({ user, passphrase }) => {
      const u = state.users.find((x) => x.id === user || x.name === user) || fail('wrongSecret', 'no such user on this device');
      if (state.passphrases[u.id] !== passphrase) fail('wrongSecret', 'wrong passphrase');
      state.current = u;
      audit('unlock');
      return { user: u, warnings: state.warnings ?? [] };
    },
    unlock_with_recovery: ({ recoveryKey, reason }) => {
      if (recoveryKey.replace(/-/g, '') !== (state.recovery ?? '').replace(/-/g, '')) fail('wrongSecret', 'wrong recovery key');
      if (!reason.trim()) fail('invalid', 'invalid reason: say why emergency access is needed (1 to 500 characters)');
      state.current = { id: 'e'.repeat(32), name: 'Emergency access (recovery key)', role: 'emergency' };
      audit('emergency_access');
      return { user: state.current, warnings: [] };
    },
    // People and keys, with the core's rules: managers only, never oneself, policy minimum.
    members: () => {
      needUnlocked();
      return state.users.map((u) => ({ ...u, removed: !!u.removed, registered: true }));
    },
    add_user: ({ name, role, passphrase }) => {
      const me = needUnlocked();
      if (!['admin', 'physician'].includes(me.role)) fail('notPermitted', `not permitted: adding a user needs an admin or a physician; you are signed in as ${me.role}`);
      if (passphrase.length < 8) fail('invalid', 'invalid passphrase: must be at least 8 characters');
      const u = { id: id(), name, role };
      state.users.push(u);
      state.passphrases[u.id] = passphrase;
      return u;
    },
    remove_user: ({ id: who, confirm }) => {
      const me = needUnlocked();
      if (!['admin', 'physician'].includes(me.role)) fail('notPermitted', `not permitted: removing a user needs an admin or physician; you are signed in as ${me.role}`);
      if (who === me.id) fail('invalid', 'invalid user: you cannot remove yourself');
      if (state.passphrases[me.id] !== confirm) fail('wrongSecret', 'wrong passphrase');
      const u = state.users.find((x) => x.id === who) || fail('notFound', 'user not found');
      u.removed = true;
      delete state.passphrases[u.id];
      audit('database_rekeyed');
      state.recovery = 'NEWK-EYNE-WKEY-NEWK-EYNE-WKEY-NEWK-EYNE-WKEY-NEWK-EYNE-WKEY-NE';
      return state.recovery;
    },
    change_passphrase: ({ current, next }) => {
      const me = needUnlocked();
      if (state.passphrases[me.id] !== current) fail('wrongSecret', 'wrong passphrase');
      if (next.length < 8) fail('invalid', 'invalid passphrase: must be at least 8 characters');
      state.passphrases[me.id] = next;
      return null;
    },
    rotate_recovery: ({ confirm }) => {
      const me = needUnlocked();
      if (state.passphrases[me.id] !== confirm) fail('wrongSecret', 'wrong passphrase');
      state.recovery = 'ROTA-TEDK-EYRO-TATE-DKEY-ROTA-TEDK-EYRO-TATE-DKEY-ROTA-TEDK-EY';
      return state.recovery;
    },
    recovery_sheet: () => ({
      text: 'OUTPOST RECOVERY SHEET v1\n9X85 4MR1 07PG YA25 T0D3 SP2S YKQA B1CE\n',
      qr: 'data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4=',
    }),
    lock: () => {
      audit('lock');
      state.current = null;
      return null;
    },
    current_user: () => needUnlocked(),
    // The same rules as the core's `authz::capabilities`.
    capabilities: () => {
      const role = needUnlocked().role;
      return {
        chart: ['physician', 'nurse', 'admin', 'emergency'].includes(role),
        sign_notes: role === 'physician',
        max_attachment_bytes: 100 * 1024 * 1024,
        min_passphrase_chars: 8,
        add_addenda: role === 'physician' || role === 'nurse',
        make_backups: ['admin', 'physician', 'emergency'].includes(role),
        manage: role === 'admin' || role === 'physician',
        prescribe: role === 'physician',
        clinical_records: role === 'physician' || role === 'nurse',
      };
    },
    // Every word, anywhere in the name, clinic number or phone; one page at a time.
    search_patients: ({ query, offset, limit }) => {
      needUnlocked();
      const words = query.toLowerCase().split(/\s+/).filter(Boolean);
      const found = state.patients
        .filter((p) => {
          const text = `${p.given_name} ${p.family_name} ${p.clinic_id ?? ''} ${p.contact ?? ''}`.toLowerCase();
          return words.every((w) => text.includes(w));
        })
        .sort((a, b) => a.family_name.localeCompare(b.family_name) || a.given_name.localeCompare(b.given_name));
      return { patients: found.slice(offset, offset + limit), more: found.length > offset + limit };
    },
    similar_patients: ({ patient }) => {
      needUnlocked();
      const same = (a, b) => (a ?? '').trim().toLowerCase() === (b ?? '').trim().toLowerCase();
      const birth = estimatedBirth(patient);
      return state.patients.filter(
        (p) =>
          (same(p.family_name, patient.family_name) && (p.birth_date.slice(0, 4) === birth.slice(0, 4) || same(p.given_name, patient.given_name))) ||
          (patient.clinic_id && p.clinic_id === patient.clinic_id) ||
          (patient.national_id && p.national_id === patient.national_id) ||
          (patient.contact && p.contact === patient.contact),
      );
    },
    add_patient: ({ patient }) => {
      needUnlocked();
      const birth_date = estimatedBirth(patient);
      if (!/^\d{4}-\d{2}-\d{2}$/.test(birth_date)) fail('invalid', 'invalid birth_date: use YYYY-MM-DD');
      const { estimated_age_years, ...rest } = patient;
      const p = { ...rest, birth_date, birth_date_estimated: estimated_age_years != null, national_id: patient.national_id ?? null, guardian: patient.guardian ?? null, id: id(), created_at: now() };
      state.patients.push(p);
      audit('patient_created', p.id);
      return p;
    },
    chart: ({ patientId }) => {
      needUnlocked();
      const patient = state.patients.find((p) => p.id === patientId) || fail('notFound', 'patient not found');
      audit('chart_read', patientId);
      return {
        patient,
        encounters: state.encounters.filter((e) => e.patient_id === patientId).reverse(),
        notes: state.notes.filter((n) => n.patient_id === patientId).reverse().map(withHash),
        vitals: state.vitals.filter((v) => v.patient_id === patientId),
        attachments: state.attachments.filter((a) => a.patient_id === patientId),
        // The core computes the age; the fake gives a fixed one.
        age: state.age ?? { years: 36, months: 7, days: 13_000, unit: 'years', text: '36 y' },
        bmi: null,
        allergy_status: activeAllergies(patientId).length > 0 ? 'allergies' : state.reviews.includes(patientId) ? 'none_known' : 'not_asked',
        allergies: state.allergies.filter((a) => a.patient_id === patientId),
        medications: state.medications.filter((m) => m.patient_id === patientId).reverse(),
        problems: state.problems.filter((p) => p.patient_id === patientId),
        // The core computes growth z-scores and the WHO lines; a test seeds them.
        growth: state.growth?.[patientId] ?? [],
        growth_curves: state.growthCurves ?? null,
      };
    },
    // Allergies and prescriptions. The fake knows one drug group (penicillins) and one drug
    // outside it; the core's full checks are tested in Rust.
    add_allergy: ({ patientId, substance, reaction, severity }) => {
      const u = needUnlocked();
      if (!substance.trim() || !reaction.trim()) fail('invalid', 'invalid substance: is required');
      const checked = /penicillin|amoxicillin/i.test(substance) ? 'group:penicillins' : /paracetamol/i.test(substance) ? 'atc:N02BE01' : null;
      const a = { id: id(), patient_id: patientId, substance: substance.trim(), code: checked, reaction: reaction.trim(), severity, recorded_at: now(), recorded_by: u.id, removed_at: null, removed_reason: null };
      state.allergies.push(a);
      return a;
    },
    record_no_known_allergies: ({ patientId }) => {
      needUnlocked();
      if (activeAllergies(patientId).length > 0) fail('invalid', 'invalid allergies: an allergy is recorded as active: remove it first, saying why');
      state.reviews.push(patientId);
      return null;
    },
    remove_allergy: ({ id: which, reason }) => {
      needUnlocked();
      const a = state.allergies.find((x) => x.id === which) || fail('notFound', 'allergy not found');
      Object.assign(a, { removed_at: now(), removed_reason: reason });
      return a;
    },
    // Alerts: the core's rules run in Rust; a test seeds what they found.
    alerts: () => needUnlocked() && (state.alerts ?? []),
    open_alert_count: () => (state.alerts ?? []).filter((a) => a.acknowledged === null).length,
    acknowledge_alert: ({ id: which, note }) => {
      const u = needUnlocked();
      if (!note.trim()) fail('invalid', 'invalid note: is required', 'invalid', { field: 'note', reason: 'is required' });
      const a = (state.alerts ?? []).find((x) => x.alert.id === which) || fail('notFound', 'alert not found');
      a.acknowledged = { by: u.id, by_name: u.name, at: now(), note: note.trim() };
      return null;
    },
    alert_rules: () => state.alertRules ?? { bulk_charts: 20, bulk_minutes: 10, opens_at: null, closes_at: null, utc_offset_minutes: 0, failed_unlocks: 3, failed_minutes: 15 },
    set_alert_rules: ({ rules }) => {
      state.alertRules = rules;
      return null;
    },
    // Updates from a file: the shell verifies them in Rust; a test seeds what it found.
    check_update_file: () => {
      if (state.update?.error) fail(state.update.error.kind, state.update.error.message, state.update.error.code, state.update.error.params);
      state.updateChecked = true;
      return state.update?.found ?? null;
    },
    // Online: what the update server "offers" is the seed's; the automatic check may be not due.
    check_for_update: ({ manual }) => {
      (state.updateChecks ??= []).push(manual);
      const online = state.online;
      if (!online) return { kind: 'notSetUp' };
      if (online.error) fail(online.error.kind, online.error.message, online.error.code, online.error.params);
      if (!manual && online.due === false) return { kind: 'notDue' };
      state.onlineOffered = online.answer.kind === 'available';
      return online.answer;
    },
    install_online_update: () => {
      if (!state.onlineOffered) fail('invalid', 'check for updates first');
      state.onlineInstalled = true;
      return state.online.done;
    },
    clear_clipboard_later: () => {
      state.clipboardClearings = (state.clipboardClearings ?? 0) + 1;
      return null;
    },
    install_update_file: () => {
      if (!state.updateChecked) fail('invalid', 'choose and check an update file first');
      state.updateInstalled = true;
      return state.update.found.version;
    },
    // The core's visit templates; a test seeds them.
    note_templates: () => state.templates ?? [],
    find_drugs: ({ query }) =>
      [
        { atc: 'J01CA04', name: 'amoxicillin', forms: ['capsule 250 mg', 'capsule 500 mg'], synonyms: [] },
        { atc: 'N02BE01', name: 'paracetamol', forms: ['tablet 500 mg'], synonyms: ['acetaminophen'] },
      ].filter((d) => d.name.includes(query.toLowerCase())),
    prescribe: ({ patientId, prescription: p }) => {
      const u = needUnlocked();
      if (u.role !== 'physician') fail('notPermitted', `not permitted: prescribing needs a physician; you are signed in as ${u.role}`);
      const penicillin = /amoxicillin/i.test(p.drug);
      const clash = penicillin && activeAllergies(patientId).find((a) => a.code === 'group:penicillins');
      if (clash && !p.override_reason)
        fail('allergyConflict', `allergy conflict: amoxicillin belongs with penicillins, and the patient has a ${clash.severity} allergy recorded; to prescribe it anyway, give an override reason`, 'allergyConflict', {
          drug: 'amoxicillin',
          relation: 'belongs with',
          allergy: 'penicillins',
          severity: clash.severity,
        });
      const m = { id: id(), patient_id: patientId, encounter_id: p.encounter_id, atc: penicillin ? 'J01CA04' : null, drug: p.drug.trim().toLowerCase(), dose: p.dose, route: p.route, frequency: p.frequency, duration: p.duration, instructions: p.instructions, override_reason: clash ? p.override_reason : null, prescribed_at: now(), prescribed_by: u.id, stopped_at: null, stopped_reason: null, conflicts_with: [] };
      state.medications.push(m);
      return m;
    },
    // Two codes stand in for the core's ICD-10-CM list.
    find_diagnoses: ({ query }) =>
      [
        { code: 'I10', title: 'Essential (primary) hypertension', keywords: ['htn', 'hypertension'] },
        { code: 'B54', title: 'Unspecified malaria', keywords: ['malaria'] },
      ].filter((d) => d.code.toLowerCase().startsWith(query.toLowerCase()) || d.keywords.some((k) => k.includes(query.toLowerCase()))),
    add_problem: ({ patientId, encounterId, diagnosis, onset }) => {
      const u = needUnlocked();
      const coded = { I10: 'Essential (primary) hypertension', B54: 'Unspecified malaria' }[diagnosis.toUpperCase()];
      const p = { id: id(), patient_id: patientId, encounter_id: encounterId, code: coded ? diagnosis.toUpperCase() : null, title: coded ?? diagnosis, onset, recorded_at: now(), recorded_by: u.id, resolved_at: null, resolved_reason: null };
      state.problems.push(p);
      return p;
    },
    resolve_problem: ({ id: which, reason }) => {
      needUnlocked();
      const p = state.problems.find((x) => x.id === which) || fail('notFound', 'problem not found');
      Object.assign(p, { resolved_at: now(), resolved_reason: reason });
      return p;
    },
    stop_medication: ({ id: which, reason }) => {
      needUnlocked();
      const m = state.medications.find((x) => x.id === which) || fail('notFound', 'medication not found');
      Object.assign(m, { stopped_at: now(), stopped_reason: reason });
      return m;
    },
    write_note: ({ patientId, encounterId, soap }) => {
      const u = needUnlocked();
      const t = now();
      const n = { id: id(), patient_id: patientId, encounter_id: encounterId, author: u.id, soap, created_at: t, updated_at: t, revision: rev(), signature: { state: 'unsigned' }, conflicts: [], addenda: [], legacy: false };
      state.notes.push(n);
      return withHash(n);
    },
    note: ({ noteId }) => {
      needUnlocked();
      return withHash(state.notes.find((x) => x.id === noteId) || fail('notFound', 'note not found'));
    },
    update_draft: ({ noteId, bases, soap }) => {
      const u = needUnlocked();
      const n = state.notes.find((x) => x.id === noteId) || fail('notFound', 'note not found');
      if (n.signature.state !== 'unsigned') fail('immutable', 'a signed note cannot be changed: add a signed addendum instead');
      const current = [n.revision, ...n.conflicts.map((c) => c.revision)];
      const t = now();
      if (bases.length === current.length && current.every((r) => bases.includes(r))) {
        Object.assign(n, { soap, updated_at: t, revision: rev(), conflicts: [] });
        return withHash(n);
      }
      // A stale base: the text is kept as a second version and the save is a conflict.
      n.conflicts.push({ revision: rev(), author: u.id, at: t, soap });
      fail('conflict', 'this draft changed since you last saw it: it was saved elsewhere meanwhile; both texts are kept: review them and save a merged text');
    },
    sign_note: ({ noteId, contentHash: shown }) => {
      const u = needUnlocked();
      if (u.role !== 'physician') fail('notPermitted', 'not permitted: signing a note needs a physician; you are signed in as ' + u.role);
      const n = state.notes.find((x) => x.id === noteId) || fail('notFound', 'note not found');
      if (n.conflicts.length) fail('conflict', 'this draft changed since you last saw it: it has conflicting versions; merge them before signing');
      if (shown !== contentHash(n)) fail('conflict', 'this draft changed since you last saw it: it changed since you last saw it; review the current text before signing');
      Object.assign(n, { signature: { state: 'valid', by: u.id, at: now() } });
      return withHash(n);
    },
    add_addendum: ({ noteId, text }) => {
      const u = needUnlocked();
      const n = state.notes.find((x) => x.id === noteId);
      const t = now();
      const a = { id: id(), author: u.id, text, signed_at: t, signature: { state: 'valid', by: u.id, at: t } };
      n.addenda.push(a);
      return a;
    },
    add_vital: ({ patientId, encounterId, kind, value, value2, observedAt }) => {
      const u = needUnlocked();
      if (kind === 'temperature' && (value < 25 || value > 45)) fail('invalid', 'invalid value: outside the plausible range for this vital');
      // The core flags by age with many ranges; the fake knows one, fever.
      const flag = kind === 'temperature' && value >= 37.5 ? { level: 'high', rule: 'temperature_fever', range: 'fever: 37.5 °C or more' } : null;
      const v = { id: id(), patient_id: patientId, encounter_id: encounterId ?? null, kind, value, value2, unit: '', observed_at: observedAt ?? now(), recorded_by: u.id, legacy: false, flag, entered_in_error: null };
      state.vitals.push(v);
      return v;
    },
    // As the core: struck out with a reason, kept, never flagged; once only; clinicians only.
    mark_vital_in_error: ({ id: vitalId, reason }) => {
      const u = needUnlocked();
      if (!['physician', 'nurse'].includes(u.role)) fail('notPermitted', 'correcting a vital sign needs a physician or nurse');
      const v = state.vitals.find((x) => x.id === vitalId) || fail('notFound', 'vital not found');
      if (!reason || !reason.trim()) fail('invalid', 'invalid reason: required');
      if (v.entered_in_error) fail('invalid', 'invalid vital: already marked as entered in error');
      Object.assign(v, { flag: null, entered_in_error: { by: u.id, at: now(), reason: reason.trim() } });
      return v;
    },
    add_encounter: ({ patientId, kind, reason }) => {
      const u = needUnlocked();
      const e = { id: id(), patient_id: patientId, kind, status: 'in_progress', started_at: now(), ended_at: null, practitioner: u.id, legacy: false, reason: reason ?? null };
      state.encounters.push(e);
      return e;
    },
    finish_encounter: ({ encounterId }) => {
      needUnlocked();
      const e = state.encounters.find((x) => x.id === encounterId) || fail('notFound', 'encounter not found');
      Object.assign(e, { status: 'finished', ended_at: now() });
      return e;
    },
    // Files are picked in the system's dialog, which the shell opens: `state.picks` holds what
    // the person picks, in order (null: they closed it); by default a file on a USB stick.
    create_backup: ({ passphrase }) => {
      const u = needUnlocked();
      if (!['admin', 'physician', 'emergency'].includes(u.role)) fail('notPermitted', 'not permitted: making a backup needs an admin or physician');
      if (passphrase.length < 8) fail('invalid', 'invalid passphrase: use at least 8 characters');
      const path = state.picks?.length ? state.picks.shift() : '/media/nurse/CLINIC A/outpost-backup.outpost';
      if (path === null) return null;
      if (state.backups[path]) fail('invalid', 'invalid path: a file exists there; choose a new name');
      const manifest = { created_at: now(), created_by: u, schema_version: 1, tables: [{ table: 'patients', rows: state.patients.length, sha256: '0'.repeat(64) }] };
      state.backups[path] = { passphrase, manifest };
      return { manifest, file: path, same_disk_as_data: !path.startsWith('/media/') };
    },
    verify_backup: ({ passphrase }) => {
      const path = state.picks?.length ? state.picks.shift() : '/media/nurse/CLINIC A/outpost-backup.outpost';
      if (path === null) return null;
      const b = state.backups[path] || fail('storage', 'storage error: No such file or directory (os error 2)');
      if (b.passphrase !== passphrase) fail('wrongSecret', 'wrong passphrase');
      return { manifest: b.manifest, file: path };
    },
    // The raw body and headers, as the shell takes them: bytes, never a JSON array.
    add_attachment_raw: (body, options) => {
      needUnlocked();
      if (!(body instanceof Uint8Array)) fail('invalid', 'the file must be sent as raw bytes');
      const h = options?.headers ?? {};
      const a = { id: id(), patient_id: h['x-outpost-patient'], encounter_id: h['x-outpost-encounter'] || null, file_name: decodeURIComponent(h['x-outpost-file-name']), media_type: h['x-outpost-media-type'], size: body.length, sha256: '0'.repeat(64), created_at: now(), created_by: state.current.id, legacy: false, bytes: Array.from(body) };
      state.attachments.push(a);
      return a;
    },
    attachment_preview: ({ attachmentId }) => {
      const a = state.attachments.find((x) => x.id === attachmentId);
      return a && a.media_type.startsWith('image/') ? `data:${a.media_type};base64,${btoa(String.fromCharCode(...a.bytes))}` : null;
    },
    // Workspaces and sync: a workspace, pending changes, conflicts and set-aside items the
    // tests seed; sync_now "sends" what is pending when the relay is reachable.
    workspace: () => (needUnlocked(), state.workspace ?? null),
    create_workspace: ({ name, relay }) => {
      needUnlocked();
      if (!['admin', 'physician'].includes(state.current.role)) fail('notPermitted', 'not permitted: founding a workspace needs an admin or physician');
      if (!/^https?:\/\//.test(relay)) fail('invalid', 'invalid relay: a relay URL starts with http:// or https://');
      state.workspace = { id: 'c'.repeat(32), name, relay, pending: false };
      state.members = [{ user: state.current.id, name: state.current.name, device: 'd'.repeat(32), device_name: 'This laptop', role: state.current.role, safety_number: '12345 '.repeat(12).trim(), status: 'you' }];
      state.changes = state.changes ?? [];
      return state.workspace;
    },
    create_invite: ({ role, days }) => {
      needUnlocked();
      state.invites = (state.invites ?? 0) + 1;
      return { code: `outpost-invite-1:FAKE${role}${days}`, qr: 'data:image/svg+xml;base64,' + btoa('<svg xmlns="http://www.w3.org/2000/svg" width="220" height="220"><rect width="220" height="220"/></svg>') };
    },
    join_workspace: ({ code }) => {
      needUnlocked();
      if (!code.startsWith('outpost-invite-1:')) fail('invalid', 'invalid invite: this is not an Outpost invite code (copy the whole line)');
      state.workspace = { id: 'c'.repeat(32), name: '', relay: 'http://relay.invalid', pending: true };
      return state.workspace;
    },
    workspace_members: () => (needUnlocked(), state.members ?? []),
    mark_verified: ({ user }) => {
      const m = (state.members ?? []).find((x) => x.user === user) || fail('notFound', 'user not found');
      m.status = 'verified';
      return null;
    },
    remove_member: ({ id: who }) => {
      const m = (state.members ?? []).find((x) => x.device === who || x.user === who) || fail('notFound', 'member or device not found');
      m.status = 'removed';
      return [m.device];
    },
    sync_status: () => {
      needUnlocked();
      const pending = (state.changes ?? []).filter((c) => !c.on_relay).length;
      return {
        workspace: state.workspace?.id ?? null,
        pending,
        oldest_pending_seconds: pending ? 7200 : null,
        last_sync: state.lastSync ?? null,
        conflicts: (state.conflicts ?? []).length,
        quarantined: (state.setAside ?? []).length,
        last_error: state.relayDown ? 'the relay is unreachable: connection refused' : null,
        pending_admission: !!state.workspace?.pending,
      };
    },
    sync_now: () => {
      needUnlocked();
      if (!state.workspace) fail('notFound', 'this profile is in no workspace');
      if (state.relayDown) fail('sync', 'the relay is unreachable: connection refused');
      const pushed = (state.changes ?? []).filter((c) => !c.on_relay).length;
      for (const c of state.changes ?? []) c.on_relay = true;
      state.lastSync = Date.now();
      return { pushed, received: 0, set_aside: 0, waiting: 0, admitted: 0, device_admitted: !state.workspace.pending };
    },
    sync_centre: () => ({ status: handlers.sync_status(), changes: state.changes ?? [], conflicts: state.conflicts ?? [], set_aside: state.setAside ?? [] }),
    resolve_conflict: ({ id: cid, choose, value }) => {
      const c = (state.conflicts ?? []).find((x) => x.id === cid) || fail('invalid', 'invalid conflict: no such conflict');
      state.resolved = { id: cid, value: choose ? c.values.find((v) => v.id === choose)?.value : value };
      state.conflicts = state.conflicts.filter((x) => x.id !== cid);
      return null;
    },
    // Calls: a scripted call whose view changes as the real desk's would, and a moving
    // synthetic picture (a bar that moves one step per frame) so the canvas can be checked.
    call_view: () => {
      needUnlocked();
      const c = (state.call ??= { online: false, state: null, peer: null, ringing: null, waiting: state.waiting ?? [], muted: false, camera_off: false, audio_only: false, notice: null, peer_notice: null, chat: [], files: [], safety_number: null, ended: null, error: null, frames: 0, stats: null });
      if (c.state === 'connected') c.frames += 1;
      return { ...c, waiting: [...c.waiting] };
    },
    call_go_online: () => {
      handlers.call_view();
      state.call.online = true;
      return null;
    },
    // Raw bytes like the shell's: number, width, height (little-endian u32), then I420.
    call_frame_raw: ({ after }) => {
      const c = state.call;
      if (!c || c.state !== 'connected' || c.frames <= after) return new ArrayBuffer(0);
      const w = 64, h = 36;
      const buf = new ArrayBuffer(12 + w * h * 1.5);
      const head = new DataView(buf);
      head.setUint32(0, c.frames, true);
      head.setUint32(4, w, true);
      head.setUint32(8, h, true);
      const bytes = new Uint8Array(buf, 12).fill(128);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) bytes[y * w + x] = Math.abs(x - (c.frames % w)) < 4 ? 235 : 40;
      return buf;
    },
    visit_admit: ({ visit }) => {
      const c = state.call;
      const w = c.waiting.find((x) => x.visit === visit) || fail('notFound', 'patient in the waiting room not found');
      c.waiting = c.waiting.filter((x) => x.visit !== visit);
      const stats = JSON.stringify({ connected: true, rtt_ms: 48.2, loss: 0.02, estimate_bps: 310000, remote_resolution: [640, 360], codecs: ['H264', 'opus'], sframe_suite: 'Aes128GcmSha256_128', fingerprint_verified: true, path: 'host' });
      Object.assign(c, { state: 'connected', peer: w.name, safety_number: '1234567890'.repeat(6), ended: null, stats, patient: w.patient, encounter: 'd'.repeat(32), synthetic: true });
      return null;
    },
    visit_invite: ({ patientId }) => (state.patients.find((p) => p.id === patientId) ? 'outpost-visit-1:AAAA' : fail('notFound', 'patient not found')),
    call_mute: ({ on }) => ((state.call.muted = on), null),
    call_camera_off: ({ on }) => ((state.call.camera_off = on), null),
    call_audio_only: ({ on }) => {
      state.call.audio_only = on;
      state.call.notice = on ? 'Video off: audio only, as chosen.' : 'Video back on.';
      return null;
    },
    call_chat: ({ text }) => {
      state.call.chat.push({ mine: true, text });
      state.call.chat.push({ mine: false, text: `echo: ${text}` });
      return null;
    },
    call_hang_up: () => {
      Object.assign(state.call, { state: 'ended', ended: 'hung_up' });
      return null;
    },
    // Names filled in as the core does; the filters and the page as the core applies them.
    audit_entries: ({ query }) => {
      needUnlocked();
      const named = [...state.audit].reverse().map((e) => {
        const u = state.users.find((x) => x.id === e.actor);
        const p = state.patients.find((x) => x.id === e.record_id);
        return { ...e, actor_name: u?.name ?? null, actor_role: u?.role ?? null, patient_name: p ? `${p.family_name}, ${p.given_name}` : null };
      });
      return named
        .filter((e) => (!query.actor || e.actor === query.actor) && (!query.record_id || e.record_id === query.record_id))
        .filter((e) => (query.from_ms == null || e.at >= query.from_ms) && (query.to_ms == null || e.at < query.to_ms))
        .slice(query.offset, query.offset + query.limit);
    },
    export_audit: () => {
      const me = needUnlocked();
      if (!['admin', 'physician'].includes(me.role)) fail('notPermitted', `not permitted: exporting the audit trail needs an admin or physician; you are signed in as ${me.role}`);
      const path = state.picks?.length ? state.picks.shift() : '/home/clinic/outpost-audit.csv';
      if (path === null) return null;
      audit('audit_exported');
      return path;
    },
    verify_audit: () => (needUnlocked(), state.verifyError ? fail('integrity', state.verifyError) : { operations: state.audit.length, devices: 1, legacy_entries: 0 }),
  };
  window.__FAKE_CORE__ = state;
  // Events from the shell (`listen`): callbacks by id, and the listeners of each event.
  const callbacks = new Map();
  const listeners = new Map();
  handlers['plugin:event|listen'] = ({ event, handler }) => {
    listeners.set(event, [...(listeners.get(event) ?? []), handler]);
    return handler;
  };
  handlers['plugin:event|unlisten'] = ({ event, eventId }) => {
    listeners.set(event, (listeners.get(event) ?? []).filter((h) => h !== eventId));
    return null;
  };
  /** What the shell does when the core locks itself: the event reaches every listener. */
  window.__FAKE_EMIT__ = (event, payload = null) => {
    for (const id of listeners.get(event) ?? []) callbacks.get(id)?.({ event, id, payload });
  };
  window.__TAURI_INTERNALS__ = {
    transformCallback: (callback) => {
      const id = callbacks.size + 1;
      callbacks.set(id, callback);
      return id;
    },
    invoke: async (cmd, args, options) => {
      calls.push(cmd);
      // `state.slow[cmd]`: the call takes that many ms (a busy laptop), so double clicks land.
      if (state.slow?.[cmd]) await new Promise((r) => setTimeout(r, state.slow[cmd]));
      // `state.failOnce[cmd]`: the next call of `cmd` fails with that error (a flaky disk).
      const once = state.failOnce?.[cmd];
      if (once) {
        delete state.failOnce[cmd];
        throw once;
      }
      const override = seed.overrides?.[cmd];
      if (override) {
        if (override.error) throw override.error;
        return override.ok;
      }
      const handler = handlers[cmd];
      if (!handler) throw { kind: 'invalid', message: `unknown command ${cmd}` };
      return handler(args || {}, options);
    },
  };
}
