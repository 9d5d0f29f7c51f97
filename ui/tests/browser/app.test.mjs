// Browser tests: the built UI in Debian's Chromium, with a stateful fake of the Tauri IPC.
// Run after `npm run build`; `make test-browser` does both.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { preview } from 'vite';
import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';
import { installFakeCore } from './fake-core.js';
import { readFileSync } from 'node:fs';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

const CHROMIUM = process.env.OUTPOST_CHROMIUM ?? '/usr/bin/chromium';
let server;
let browser;
let baseUrl;

before(async () => {
  server = await preview({ preview: { port: 0, host: '127.0.0.1', strictPort: false }, logLevel: 'silent' });
  baseUrl = server.resolvedUrls.local[0];
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-gpu'],
  });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

const INFO = {
  version: '9.8.7-mock',
  dataDir: '/var/lib/outpost/clinic-a',
  buildFeatures: ['debug-build', 'target-linux'],
  status: { profile: 'notCreated', dataDirWritable: true },
};

const DOCTOR = { id: 'a'.repeat(32), name: 'Dr. Achieng', role: 'physician' };
const UNLOCKED = { users: [DOCTOR], passphrases: { [DOCTOR.id]: 'clinic passphrase' }, current: DOCTOR };

/** Polls `check` until it holds (playwright-core has no `expect.poll`). */
async function until(check, what, timeout = 10_000) {
  const end = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Signs the open note as a physician does: Sign note, read the confirmation, attest, Sign. */
async function signNote(page) {
  await page.getByRole('button', { name: 'Sign note' }).click();
  const confirm = page.getByRole('group', { name: 'Confirm signature' });
  await confirm.waitFor();
  assert.equal(await confirm.getByRole('button', { name: 'Sign', exact: true }).isDisabled(), true, 'no signing before the attestation');
  await confirm.getByLabel('I have reviewed this note and it is accurate').check();
  await confirm.getByRole('button', { name: 'Sign', exact: true }).click();
}

/** Opens the app with the fake core seeded by `seed`. */
async function openApp(seed = {}) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.addInitScript(installFakeCore, { info: seed.info ?? INFO, state: seed.state, overrides: seed.overrides });
  await page.goto(baseUrl);
  return { page, errors };
}

test('onboarding: create a profile, see the recovery key once, land on an empty patient list', async () => {
  const { page, errors } = await openApp();
  await page.getByRole('region', { name: 'Set up Outpost on this device' }).waitFor();
  // The first-run card sits in the middle of the window, with the status bar across the bottom.
  const card = await page.getByRole('region', { name: 'Set up Outpost on this device' }).boundingBox();
  assert.ok(Math.abs(card.x + card.width / 2 - 640) < 40, `card off-centre at x=${card.x}`);
  const bar = await page.getByTestId('status-bar').boundingBox();
  assert.ok(bar.width > 1200 && bar.y > 700, `status bar at ${JSON.stringify(bar)}`);
  await page.getByLabel('Your name').fill('Dr. Achieng');
  await page.getByLabel('Passphrase', { exact: true }).fill('short');
  assert.match(await page.getByText(/^Strength:/).textContent(), /too short/);
  assert.equal(await page.getByRole('button', { name: 'Create profile' }).isDisabled(), true);
  await page.getByLabel('Passphrase', { exact: true }).fill('Correct horse battery staple 42!');
  assert.match(await page.getByText(/^Strength:/).textContent(), /strong/);
  await page.getByLabel('Repeat passphrase').fill('Correct horse battery staple 4');
  assert.equal(await page.getByRole('button', { name: 'Create profile' }).isDisabled(), true, 'mismatched confirmation must block');
  await page.getByLabel('Repeat passphrase').fill('Correct horse battery staple 42!');
  await page.getByRole('button', { name: 'Create profile' }).click();

  const key = page.getByTestId('recovery-key');
  await key.waitFor();
  assert.match(await key.textContent(), /^[0-9A-Z]{4}(-[0-9A-Z]{1,4})+$/);
  assert.equal(await page.getByRole('button', { name: 'Continue' }).isDisabled(), true, 'must confirm the key was written down');
  await page.getByRole('checkbox', { name: 'I have written the recovery key down' }).check();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByTestId('patients-empty').waitFor();
  assert.equal(await page.getByTestId('current-user').textContent(), 'Dr. Achieng');
  assert.equal(await page.getByTestId('status-version').textContent(), 'v9.8.7-mock');
  assert.equal(await page.getByTestId('recovery-key').count(), 0, 'the key is not shown again');
  assert.deepEqual(errors, []);
  await page.close();
});

test('unlock: a wrong passphrase is refused with the core message; the right one opens', async () => {
  const { page } = await openApp({ state: { ...UNLOCKED, current: null } });
  await page.getByRole('heading', { name: 'Outpost is locked' }).waitFor();
  await page.getByLabel('Passphrase', { exact: true }).fill('not it');
  await page.getByRole('button', { name: 'Unlock', exact: true }).click();
  assert.equal(await page.getByRole('alert').textContent(), 'wrong passphrase');
  await page.getByLabel('Passphrase', { exact: true }).fill('clinic passphrase');
  await page.getByRole('button', { name: 'Unlock', exact: true }).click();
  await page.getByTestId('patients-empty').waitFor();
  // Lock from the sidebar returns to the lock screen.
  await page.getByRole('button', { name: 'Lock', exact: true }).click();
  await page.getByRole('heading', { name: 'Outpost is locked' }).waitFor();
  await page.close();
});

test('patient, vitals, note draft with autosave, sign, addendum', async () => {
  const { page, errors } = await openApp({ state: UNLOCKED });
  await page.getByRole('button', { name: 'New patient' }).click();
  await page.getByLabel('Given name').fill('Wanjiru');
  await page.getByLabel('Family name').fill('Kamau');
  await page.getByLabel('Birth date', { exact: true }).fill('1991-03-14');
  await page.getByLabel('Clinic number').fill('NK-7');
  await page.getByRole('button', { name: 'Save patient' }).click();
  assert.equal(await page.getByRole('heading', { level: 2 }).textContent(), 'Kamau, Wanjiru');

  await page.getByLabel('Systolic', { exact: true }).fill('142');
  await page.getByLabel('Diastolic', { exact: true }).fill('91');
  await page.getByRole('button', { name: 'Record', exact: true }).click();
  await page.getByTestId('vital-blood_pressure').waitFor();
  assert.match(await page.getByTestId('vital-blood_pressure').textContent(), /142\/91 mmHg/);
  await page.getByRole('combobox', { name: 'Vital', exact: true }).selectOption('temperature');
  await page.getByLabel('Value', { exact: true }).fill('381');
  await page.getByRole('button', { name: 'Record', exact: true }).click();
  await page.getByRole('alert').waitFor();
  assert.match(await page.getByRole('alert').textContent(), /plausible range/);
  // The decimal comma used across much of the world is read as a decimal point; an empty
  // field is refused in words, not sent as 0.
  await page.getByLabel('Value', { exact: true }).fill('37,5');
  await page.getByRole('button', { name: 'Record', exact: true }).click();
  await page.getByTestId('vital-temperature').waitFor();
  assert.match(await page.getByTestId('vital-temperature').textContent(), /37\.5 °C/);
  await page.getByLabel('Value', { exact: true }).fill('');
  await page.getByRole('button', { name: 'Record', exact: true }).click();
  await page.getByText('Enter the reading as a number').waitFor();

  await page.getByRole('button', { name: 'New note' }).click();
  await page.getByLabel('Subjective').fill('Headache for two days');
  await page.getByLabel('Assessment').fill('Elevated blood pressure');
  await page.getByLabel('Plan').fill('Recheck in one week');
  // Autosave: the draft reaches the core without pressing anything.
  await page.waitForFunction(() => window.__FAKE_CORE__.notes.length === 1 && window.__FAKE_CORE__.notes[0].soap.plan === 'Recheck in one week');
  assert.match(await page.getByRole('main').getByRole('status').textContent(), /Draft saved/);
  await signNote(page);
  await page.getByLabel('Addendum').waitFor();
  assert.match(await page.getByRole('main').getByRole('status').textContent(), /Signed/);
  assert.equal(await page.getByLabel('Plan').getAttribute('readonly'), '', 'a signed note is read-only');
  await page.getByLabel('Addendum').fill('Repeat BP 128/84 after rest');
  await page.getByRole('button', { name: 'Sign addendum' }).click();
  await page.getByTestId('addendum').waitFor();
  await page.getByRole('button', { name: 'Back to chart' }).click();
  assert.equal(await page.getByTestId('note-state').textContent(), 'Signed');
  assert.match(await page.getByTestId('addendum').textContent(), /Repeat BP 128\/84/);
  const calls = await page.evaluate(() => window.__OUTPOST_CALLS__);
  assert.ok(calls.includes('write_note') && calls.includes('sign_note') && calls.includes('add_addendum'), calls.join(','));

  // Back on the list, search finds her by clinic number.
  await page.getByRole('button', { name: 'All patients' }).click();
  await page.evaluate(() =>
    window.__FAKE_CORE__.patients.push({ id: 'b'.repeat(32), given_name: 'Otieno', family_name: 'Ouma', birth_date: '1980-01-01', sex: null, clinic_id: 'NK-9', contact: null, created_at: 0, updated_at: 0 }),
  );
  const rows = page.getByRole('table', { name: 'Patients' }).getByRole('button');
  await page.getByRole('searchbox', { name: 'Search patients' }).fill('NK-7');
  await until(async () => (await rows.count()) === 1, 'one patient is listed');
  assert.match((await rows.allTextContents())[0], /Kamau/);
  await page.getByRole('searchbox', { name: 'Search patients' }).fill('Otieno');
  await until(async () => /Ouma/.test((await rows.allTextContents())[0] ?? ''), 'Ouma is listed');
  assert.equal(await rows.count(), 1);
  await page.getByRole('searchbox', { name: 'Search patients' }).fill('nobody');
  await page.getByTestId('patients-empty').waitFor();
  assert.deepEqual(errors, []);
  await page.close();
});

test('a long patient list comes a page at a time, and "Show more" adds the next page', async () => {
  const patients = Array.from({ length: 120 }, (_, i) => ({
    id: i.toString(16).padStart(32, '0'),
    given_name: `Person${String(i).padStart(3, '0')}`,
    family_name: 'Wanjiru',
    birth_date: '1990-01-01',
    sex: null,
    clinic_id: `NK-${i}`,
    contact: null,
    created_at: 0,
    updated_at: 0,
  }));
  const { page, errors } = await openApp({ state: { ...UNLOCKED, patients } });
  const rows = page.getByRole('button', { name: /^Wanjiru, Person/ });
  await rows.first().waitFor();
  assert.equal(await rows.count(), 50);
  const more = page.getByRole('button', { name: 'Show more patients' });
  await more.click();
  await until(async () => (await rows.count()) === 100, 'the second page is listed');
  await more.click();
  await until(async () => (await rows.count()) === 120, 'the third page is listed');
  assert.equal(await more.count(), 0, 'no button once everyone is listed');
  const names = await rows.allTextContents();
  assert.equal(new Set(names).size, 120, 'nobody listed twice');
  // A new search starts again from its first page.
  await page.getByRole('searchbox', { name: 'Search patients' }).fill('Person11');
  await until(async () => (await rows.count()) === 10, 'the search starts from its first page');
  assert.deepEqual(errors, []);
  await page.close();
});

test('the frame shows version and data directory from app_info, and storage problems', async () => {
  const { page } = await openApp({ state: UNLOCKED, info: { ...INFO, status: { profile: 'unlocked', dataDirWritable: false } } });
  await page.getByRole('navigation').getByRole('button', { name: 'About' }).focus();
  await page.keyboard.press('Enter');
  assert.equal(await page.getByTestId('app-version').textContent(), '9.8.7-mock');
  assert.equal(await page.getByTestId('app-data-dir').textContent(), '/var/lib/outpost/clinic-a');
  const storage = page.getByTestId('status-storage');
  assert.equal((await storage.textContent()).trim(), 'Storage read-only');
  assert.match(await storage.getAttribute('class'), /problem/);
  await page.getByRole('navigation').getByRole('button', { name: /^Consults/ }).click();
  assert.match(await page.getByTestId('pending').textContent(), /Not in this build yet/);
  await page.getByRole('navigation').getByRole('button', { name: 'Audit log' }).click();
  await page.getByRole('button', { name: 'Verify log' }).click();
  assert.match(await page.getByRole('main').getByRole('status').textContent(), /Log intact: \d+ signed entries from 1 device/);
  await page.close();
});

test('a typed core error is shown, not swallowed', async () => {
  const { page } = await openApp({ overrides: { app_info: { error: { kind: 'dataDir', message: 'permission denied' } } } });
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.textContent(), /permission denied/);
  await page.close();
});

test('backup: the file is picked in the system dialog; a closed dialog does nothing; a backup beside the chart is flagged; verify refuses a wrong passphrase', async () => {
  const stick = '/media/nurse/CLINIC A/outpost-backup.outpost';
  const beside = '/var/lib/outpost/outpost-backup.outpost';
  // What the person picks in the dialogs, in order: closed, the stick, the laptop's own disk,
  // the stick again (its file exists), then the stick's backup to check, twice.
  const picks = [null, stick, beside, stick, stick, stick];
  const { page, errors } = await openApp({ state: { ...UNLOCKED, picks } });
  await page.getByRole('button', { name: 'Backup', exact: true }).click();
  // The page names no file: there is no path field to type one into.
  assert.equal(await page.getByLabel('File').count(), 0);
  const create = page.getByRole('button', { name: 'Create backup…' });
  const result = page.getByRole('status').filter({ hasText: /Backup written|verifies|exists|passphrase/ });
  await page.getByLabel('Backup passphrase', { exact: true }).fill('backup passphrase');
  // A new backup's passphrase is typed twice: a typo would make the backup unopenable.
  assert.equal(await create.isDisabled(), true);
  await page.getByLabel('The same passphrase again').fill('backup passphrsae');
  await page.getByRole('alert').filter({ hasText: 'The two passphrases differ.' }).waitFor();
  assert.equal(await create.isDisabled(), true);
  await page.getByLabel('The same passphrase again').fill('backup passphrase');
  await create.click();
  await page.waitForFunction(() => window.__FAKE_CORE__.picks.length === 5);
  assert.equal(await result.count(), 0, 'a closed dialog says nothing and writes nothing');
  await create.click();
  assert.match(await result.textContent(), /Backup written to \/media\/nurse\/CLINIC A\/outpost-backup.outpost: 0 rows in 1 tables, made by Dr. Achieng/);
  assert.equal(await page.getByRole('alert').filter({ hasText: 'same disk' }).count(), 0, 'a stick is not the same disk');
  await create.click();
  await page.getByRole('alert').filter({ hasText: 'same disk as the chart' }).waitFor();
  await create.click();
  assert.match(await result.textContent(), /file exists/);
  await page.getByLabel('Backup passphrase', { exact: true }).fill('another passphrase');
  await page.getByRole('button', { name: 'Check a backup file…' }).click();
  await page.getByRole('status').filter({ hasText: 'wrong passphrase' }).waitFor();
  await page.getByLabel('Backup passphrase', { exact: true }).fill('backup passphrase');
  await page.getByRole('button', { name: 'Check a backup file…' }).click();
  await page.getByRole('status').filter({ hasText: /CLINIC A\/outpost-backup.outpost verifies/ }).waitFor();
  assert.deepEqual(errors, []);
  await page.close();
});

test('encounters: started with the reason for the visit, what is recorded meanwhile belongs to it, finished', async () => {
  const patient = { id: 'p'.repeat(32), given_name: 'Kofi', family_name: 'Mensah', birth_date: '1987-04-12', sex: null, clinic_id: null, contact: null, created_at: 1 };
  // An encounter left open three days ago collects nothing recorded today.
  const stale = { id: 's'.repeat(32), patient_id: patient.id, kind: 'in_person', status: 'in_progress', started_at: Date.now() - 3 * 86_400_000, ended_at: null, practitioner: DOCTOR.id, legacy: false, reason: 'cough' };
  const { page, errors } = await openApp({ state: { ...UNLOCKED, patients: [patient], encounters: [stale] } });
  await page.getByRole('button', { name: 'Mensah, Kofi' }).click();
  await page.getByRole('combobox', { name: 'Vital' }).selectOption('pulse');
  await page.getByLabel('Value').fill('72');
  await page.getByRole('button', { name: 'Record', exact: true }).click();
  await until(async () => (await page.evaluate(() => window.__FAKE_CORE__.vitals.length)) === 1, 'the pulse is recorded');
  assert.equal(await page.evaluate(() => window.__FAKE_CORE__.vitals[0].encounter_id), null);
  await page.getByRole('combobox', { name: 'Encounter kind' }).selectOption('video');
  await page.getByLabel('Reason for visit').fill('fever for 3 days');
  await page.getByRole('button', { name: 'Start encounter' }).click();
  const visits = page.getByRole('region', { name: 'Encounters' });
  await until(async () => /Video visit — fever for 3 days\s*· in progress/.test(await visits.textContent()), 'the encounter is listed with its reason');
  // A vital recorded now belongs to the open encounter, and the timeline says so.
  await page.getByRole('combobox', { name: 'Vital' }).selectOption('temperature');
  await page.getByLabel('Value').fill('38.4');
  await page.getByRole('button', { name: 'Record', exact: true }).click();
  await until(async () => /1 vital/.test(await visits.textContent()), 'the vital is linked to the encounter');
  assert.equal(await page.evaluate(() => window.__FAKE_CORE__.vitals[1].encounter_id), await page.evaluate(() => window.__FAKE_CORE__.encounters[1].id));
  await visits.getByRole('button', { name: 'Finish the encounter for fever for 3 days' }).click();
  await until(async () => /finished/.test(await visits.textContent()), 'the encounter is finished');
  assert.equal(await visits.getByRole('button', { name: /Finish/ }).count(), 1, 'only the stale one is left to finish');
  assert.deepEqual(errors, []);
  await page.close();
});

test('attachments: a picked photo is stored through the core and shown as a thumbnail', async () => {
  const patient = { id: 'p'.repeat(32), given_name: 'Kofi', family_name: 'Mensah', birth_date: '1987-04-12', sex: null, clinic_id: null, contact: null, created_at: 1 };
  const { page, errors } = await openApp({ state: { ...UNLOCKED, patients: [patient] } });
  await page.getByRole('button', { name: 'Mensah, Kofi' }).click();
  // A real 1x1 PNG.
  const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
  await page.getByLabel('Add file').setInputFiles({ name: 'wound (left) é.png', mimeType: 'image/png', buffer: png });
  const thumb = page.getByRole('figure').getByRole('img');
  await thumb.waitFor();
  assert.equal(await thumb.getAttribute('alt'), 'wound (left) é.png', 'the name crossed intact');
  assert.match(await thumb.getAttribute('src'), /^data:image\/png;base64,iVBOR/);
  const stored = await page.evaluate(() => window.__FAKE_CORE__.attachments[0].bytes.length);
  assert.equal(stored, png.length, 'the bytes reached the core unchanged in length');
  assert.deepEqual(errors, []);
  await page.close();
});

const PATIENT = { id: 'p'.repeat(32), given_name: 'Kofi', family_name: 'Mensah', birth_date: '1987-04-12', sex: null, clinic_id: null, contact: null, created_at: 1, created_by: 'a'.repeat(32), legacy: false };
const note = (over) => ({
  id: 'n'.repeat(32),
  patient_id: PATIENT.id,
  encounter_id: null,
  author: DOCTOR.id,
  soap: { subjective: 'Cough', objective: 'T 38.1', assessment: 'URTI', plan: 'Fluids' },
  created_at: 1,
  updated_at: 2,
  revision: 'r'.repeat(64),
  signature: { state: 'unsigned' },
  conflicts: [],
  addenda: [],
  legacy: false,
  ...over,
});

test('a note whose signature does not hold is never shown as signed', async () => {
  const notes = [
    note({ id: '1'.repeat(32), signature: { state: 'invalid', reason: 'the text differs from what was signed' } }),
    note({ id: '2'.repeat(32), signature: { state: 'valid', by: DOCTOR.id, at: 5 } }),
    note({ id: '3'.repeat(32), signature: { state: 'unverified', by: DOCTOR.id, at: 4 }, legacy: true }),
  ];
  const { page, errors } = await openApp({ state: { ...UNLOCKED, patients: [PATIENT], notes } });
  await page.getByRole('button', { name: 'Mensah, Kofi' }).click();
  const states = await page.getByTestId('note-state').allTextContents();
  assert.equal(states.length, 3);
  const invalid = states.find((t) => /invalid/i.test(t));
  assert.ok(invalid && /differs from what was signed/.test(invalid), states.join(' | '));
  assert.ok(!/^Signed$/.test(invalid));
  assert.ok(states.includes('Signed'), states.join(' | '));
  assert.ok(states.some((t) => /before signatures/.test(t)), states.join(' | '));
  assert.deepEqual(errors, []);
  await page.close();
});

test('a draft saved elsewhere meanwhile: both texts are shown and merged, then signed', async () => {
  const { page, errors } = await openApp({ state: { ...UNLOCKED, patients: [PATIENT], notes: [note()] } });
  await page.getByRole('button', { name: 'Mensah, Kofi' }).click();
  await page.getByRole('button', { name: 'Edit draft' }).click();
  // Someone else (the command line) saves a new revision of the same draft.
  await page.evaluate(() => {
    const n = window.__FAKE_CORE__.notes[0];
    n.revision = 's'.repeat(64);
    n.soap = { ...n.soap, plan: 'Fluids and paracetamol (from the clinic laptop)' };
  });
  await page.getByLabel('Plan').fill('Review in 48 h');
  await page.getByRole('heading', { name: 'Another version of this draft was saved meanwhile' }).waitFor();
  assert.match(await page.getByRole('alert').textContent(), /both texts are kept/);
  // The editor keeps what was typed; the panel shows the version saved elsewhere.
  assert.equal(await page.getByLabel('Plan').inputValue(), 'Review in 48 h');
  const versions = await page.getByRole('article').allTextContents();
  assert.equal(versions.length, 1, versions.join(' | '));
  assert.match(versions[0], /from the clinic laptop/);
  assert.equal(await page.getByRole('button', { name: 'Sign note' }).isDisabled(), true, 'no signing while two texts stand');
  // Both texts are in the core: nothing typed was lost.
  const kept = await page.evaluate(() => {
    const n = window.__FAKE_CORE__.notes[0];
    return [n.soap.plan, ...n.conflicts.map((c) => c.soap.plan)];
  });
  assert.ok(kept.includes('Review in 48 h') && kept.some((p) => /clinic laptop/.test(p)), kept.join(' | '));
  await page.getByLabel('Plan').fill('Fluids and paracetamol; review in 48 h');
  await page.getByRole('button', { name: 'Save the text above as the merged version' }).click();
  await page.getByRole('heading', { name: 'Another version of this draft was saved meanwhile' }).waitFor({ state: 'detached' });
  await signNote(page);
  await page.getByLabel('Addendum').waitFor();
  const signed = await page.evaluate(() => window.__FAKE_CORE__.notes[0]);
  assert.equal(signed.signature.state, 'valid');
  assert.equal(signed.soap.plan, 'Fluids and paracetamol; review in 48 h', 'what was signed is what was shown');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a profile restored to an earlier state is announced after unlock', async () => {
  const warnings = [{ kind: 'rolled_back', missing: 3 }];
  const { page } = await openApp({ state: { ...UNLOCKED, current: null, warnings } });
  await page.getByLabel('Passphrase', { exact: true }).fill('clinic passphrase');
  await page.getByRole('button', { name: 'Unlock', exact: true }).click();
  const banner = page.getByRole('alert');
  await banner.waitFor();
  assert.match(await banner.textContent(), /restored to an earlier state: 3 change\(s\)/);
  await page.close();
});

test('emergency access asks for a reason and the core records it', async () => {
  const recovery = 'ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-2345-6789-ABCD-EFGH-JKMN-PQRS-TVWX';
  const { page } = await openApp({ state: { ...UNLOCKED, current: null, recovery } });
  await page.getByRole('button', { name: /recovery key/ }).click();
  await page.getByLabel('Recovery key').fill(recovery);
  await page.getByRole('button', { name: 'Unlock', exact: true }).click();
  assert.match(await page.getByRole('alert').textContent(), /reason/);
  await page.getByLabel('Why is emergency access needed?').fill('Dr. Achieng away; chart needed for a referral');
  await page.getByRole('button', { name: 'Unlock', exact: true }).click();
  await page.getByTestId('current-user').waitFor();
  assert.match(await page.getByTestId('current-user').textContent(), /Emergency access/);
  await page.close();
});

test('onboarding as a patient makes a patient profile that offers no clinic charts', async () => {
  const { page, errors } = await openApp();
  await page.getByRole('region', { name: 'Set up Outpost on this device' }).waitFor();
  await page.getByLabel('Your name').fill('Kofi Mensah');
  // (A select's label text includes its options, so selects are found by role and name.)
  const roleField = page.getByRole('combobox', { name: 'Role', exact: true });
  assert.equal(await roleField.count(), 1, "a clinic's care team has a role");
  await page.getByRole('radio', { name: 'My own visits, as a patient' }).check();
  assert.equal(await roleField.count(), 0, 'no clinic role for a patient');
  await page.getByLabel('Passphrase', { exact: true }).fill('Correct horse battery staple 42!');
  await page.getByLabel('Repeat passphrase').fill('Correct horse battery staple 42!');
  await page.getByRole('button', { name: 'Create profile' }).click();
  await page.getByRole('checkbox', { name: 'I have written the recovery key down' }).check();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByTestId('current-user').waitFor();
  const role = await page.evaluate(() => window.__FAKE_CORE__.users[0].role);
  assert.equal(role, 'patient');
  assert.equal(await page.getByRole('navigation').getByRole('button', { name: 'Patients' }).count(), 0, 'no Patients section');
  assert.equal(await page.getByRole('navigation').getByRole('button', { name: 'Audit log' }).count(), 0);
  assert.deepEqual(errors, []);
  await page.close();
});

const WORKSPACE = { id: 'c'.repeat(32), name: 'Riverside clinic', relay: 'http://127.0.0.1:8470', pending: false };

test('the sync indicator never says up to date while changes wait, and sync now sends them', async () => {
  const changes = [
    { seq: 12, action: 'vital_recorded', at: 1_700_000_100_000, patient_id: null, on_relay: false, received_by: [] },
    { seq: 11, action: 'note_signed', at: 1_700_000_050_000, patient_id: null, on_relay: true, received_by: ['Dr. Okoro’s laptop'] },
  ];
  const { page, errors } = await openApp({ state: { ...UNLOCKED, workspace: WORKSPACE, changes, lastSync: Date.now() - 3_600_000 } });
  const item = page.getByTestId('status-sync');
  await page.waitForFunction(() => document.querySelector('[data-testid="status-sync"]')?.textContent.includes('waiting'));
  assert.match(await item.textContent(), /1 change waiting/);
  assert.match(await item.getAttribute('title'), /oldest 2 h/);
  await page.getByRole('navigation').getByRole('button', { name: 'Sync & team' }).click();
  assert.match(await page.getByTestId('sync-state').textContent(), /1 change waiting/);
  const rows = page.getByTestId('change');
  assert.equal(await rows.count(), 2);
  assert.match(await rows.nth(0).textContent(), /On this device only/);
  assert.match(await rows.nth(1).textContent(), /Received by Dr. Okoro’s laptop/);
  await page.getByRole('button', { name: 'Sync now' }).click();
  await page.getByRole('main').getByRole('status').waitFor();
  assert.match(await page.getByRole('main').getByRole('status').textContent(), /sent 1/);
  await page.waitForFunction(() => document.querySelector('[data-testid="sync-state"]')?.textContent.includes('Up to date'));
  assert.match(await page.getByTestId('change').nth(0).textContent(), /On the relay/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('offline: the indicator says so and that nothing is lost', async () => {
  const changes = [{ seq: 3, action: 'patient_registered', at: 1_700_000_100_000, patient_id: null, on_relay: false, received_by: [] }];
  const { page } = await openApp({ state: { ...UNLOCKED, workspace: WORKSPACE, changes, relayDown: true } });
  await page.waitForFunction(() => document.querySelector('[data-testid="status-sync"]')?.textContent.includes('Offline'));
  await page.getByRole('navigation').getByRole('button', { name: 'Sync & team' }).click();
  assert.match(await page.getByTestId('sync-state').textContent(), /Offline · 1 change waiting/);
  assert.match(await page.getByTestId('sync-detail').textContent(), /Nothing is lost/);
  await page.getByRole('button', { name: 'Sync now' }).click();
  assert.match(await page.getByRole('main').getByRole('status').textContent(), /unreachable/);
  await page.close();
});

test('conflicts are shown side by side and a choice resolves them', async () => {
  const conflicts = [
    {
      id: 'p'.repeat(32) + '.contact',
      record: 'p'.repeat(32),
      field: 'contact',
      values: [
        { id: '1'.repeat(64), value: '+233 20 111 1111', author: DOCTOR.id, at: 1_700_000_000_000 },
        { id: '2'.repeat(64), value: '+233 24 222 2222', author: 'b'.repeat(32), at: 1_700_000_000_500 },
      ],
    },
  ];
  const { page, errors } = await openApp({ state: { ...UNLOCKED, workspace: WORKSPACE, conflicts } });
  await page.getByRole('navigation').getByRole('button', { name: 'Sync & team' }).click();
  await page.getByRole('tab', { name: /^Conflicts/ }).click();
  const values = page.getByTestId('conflict-value');
  assert.equal(await values.count(), 2);
  const boxes = [await values.nth(0).boundingBox(), await values.nth(1).boundingBox()];
  assert.ok(Math.abs(boxes[0].y - boxes[1].y) < 4 && boxes[1].x > boxes[0].x + boxes[0].width - 4, 'side by side');
  await values.nth(1).getByRole('button', { name: 'Keep this' }).click();
  await page.getByTestId('conflicts-empty').waitFor();
  const resolved = await page.evaluate(() => window.__FAKE_CORE__.resolved);
  assert.deepEqual(resolved, { id: conflicts[0].id, value: '+233 24 222 2222' });
  assert.deepEqual(errors, []);
  await page.close();
});

test('set-aside changes are listed with their reasons', async () => {
  const setAside = [
    { device: 'e'.repeat(32), seq: 14, kind: 'unreadable', reason: 'its signature does not verify: it was altered after its author sealed it' },
    { device: 'f'.repeat(32), seq: 3, kind: 'refused', reason: "its author's role did not allow it" },
  ];
  const { page } = await openApp({ state: { ...UNLOCKED, workspace: WORKSPACE, setAside } });
  await page.getByRole('navigation').getByRole('button', { name: 'Sync & team' }).click();
  await page.getByRole('tab', { name: /^Set aside/ }).click();
  const items = page.getByTestId('set-aside-item');
  assert.equal(await items.count(), 2);
  assert.match(await items.nth(0).textContent(), /altered after its author sealed it/);
  assert.match(await items.nth(1).textContent(), /role did not allow it/);
  await page.close();
});

test('care team: create a workspace, invite with a code and a QR, verify a member', async () => {
  const { page, errors } = await openApp({ state: { ...UNLOCKED } });
  await page.getByRole('navigation').getByRole('button', { name: 'Sync & team' }).click();
  await page.getByRole('tab', { name: 'Care team' }).click();
  await page.getByLabel('Name', { exact: true }).fill('Riverside clinic');
  await page.getByLabel('Relay').fill('not a url');
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  assert.match(await page.getByRole('main').getByRole('status').textContent(), /http/);
  await page.getByLabel('Relay').fill('http://127.0.0.1:8470');
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await page.getByTestId('ws-id').waitFor();
  await page.getByRole('combobox', { name: 'Role', exact: true }).selectOption('physician');
  await page.getByRole('button', { name: 'Create invite' }).click();
  await page.getByRole('img', { name: 'Invite code as a QR code' }).waitFor();
  assert.match(await page.getByLabel('Invite code').inputValue(), /^outpost-invite-1:FAKEphysician7$/);
  const qr = await page.getByRole('img', { name: 'Invite code as a QR code' }).evaluate((img) => ({ w: img.naturalWidth, src: img.getAttribute('src') }));
  assert.ok(qr.src.startsWith('data:image/svg+xml;base64,') && qr.w > 0, 'the QR image renders');
  // A member appears after their device joined; the physician compares safety numbers.
  await page.evaluate(() => window.__FAKE_CORE__.members.push({ user: 'b'.repeat(32), name: 'Nurse Boateng', device: '9'.repeat(32), device_name: 'Clinic laptop 2', role: 'nurse', safety_number: '54321 '.repeat(12).trim(), status: 'unverified' }));
  await page.getByRole('tab', { name: 'Changes' }).click();
  await page.getByRole('tab', { name: 'Care team' }).click();
  const nurse = page.getByRole('row').filter({ hasText: 'Nurse Boateng' });
  await nurse.waitFor();
  assert.match(await nurse.textContent(), /54321 54321/);
  assert.match(await nurse.getByTestId('member-status').textContent(), /unverified/);
  await nurse.getByRole('button', { name: 'Mark verified' }).click();
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="member"]')].some((r) => r.textContent.includes('Nurse Boateng') && r.textContent.includes('verified') && !r.textContent.includes('unverified')));
  assert.deepEqual(errors, []);
  await page.close();
});

test('joining: a bad code is refused clearly; a good one waits for admission', async () => {
  const NURSE = { id: 'b'.repeat(32), name: 'Nurse Boateng', role: 'nurse' };
  const { page } = await openApp({ state: { users: [NURSE], passphrases: { [NURSE.id]: 'nurse passphrase' }, current: NURSE } });
  await page.getByRole('navigation').getByRole('button', { name: 'Sync & team' }).click();
  await page.getByRole('tab', { name: 'Care team' }).click();
  assert.equal(await page.getByRole('button', { name: 'Create', exact: true }).isDisabled(), true, 'a nurse cannot found a workspace');
  await page.getByLabel('Invite code').fill('hello');
  await page.getByLabel('Your passphrase').fill('nurse passphrase');
  await page.getByRole('button', { name: 'Join', exact: true }).click();
  assert.match(await page.getByRole('main').getByRole('status').textContent(), /not an Outpost invite code/);
  await page.getByLabel('Invite code').fill('outpost-invite-1:AAAA');
  await page.getByLabel('Your passphrase').fill('nurse passphrase');
  await page.getByRole('button', { name: 'Join', exact: true }).click();
  await page.getByTestId('ws-pending').waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid="status-sync"]')?.textContent.includes('Waiting to be admitted'));
  await page.close();
});

test('video visit: admit from the waiting room, see the remote picture move, mute, audio only, chat, safety number, hang up', async () => {
  const { page, errors } = await openApp({
    state: {
      ...UNLOCKED,
      members: [],
      waiting: [{ visit: 'f'.repeat(32), patient: 'e'.repeat(32), name: 'Ama Mensah' }],
      patients: [{ id: 'e'.repeat(32), given_name: 'Ama', family_name: 'Mensah', birth_date: '1990-05-05', sex: 'female', clinic_id: 'NK-9', contact: null, created_at: 1 }],
    },
    info: { ...INFO, status: { profile: 'unlocked', dataDirWritable: true } },
  });
  await page.getByRole('navigation').getByRole('button', { name: 'Video visits' }).click();
  await page.waitForFunction(() => /Online/.test(document.querySelector('[data-testid=online]')?.textContent ?? ''));
  const waiting = page.getByTestId('waiting-patient');
  assert.match(await waiting.textContent(), /Ama Mensah/);
  await page.getByRole('button', { name: 'Admit' }).click();
  await page.getByTestId('call-screen').waitFor();
  await page.waitForFunction(() => /In a call with Ama Mensah\. End-to-end encrypted/.test(document.querySelector('[data-testid=call-state]')?.textContent ?? ''));
  // The canvas shows the remote picture, and it changes between frames.
  const sample = () =>
    page.evaluate(() => {
      const c = document.querySelector('[data-testid=remote-video]');
      const d = c.getContext('2d').getImageData(0, 0, c.width, 1).data;
      return { w: c.width, row: Array.from(d.filter((_, i) => i % 4 === 0)) };
    });
  await page.waitForFunction(() => Number(/(\d+)/.exec(document.querySelector('[data-testid=frames-shown]')?.textContent ?? '0')?.[1]) >= 2);
  const first = await sample();
  assert.equal(first.w, 64);
  assert.ok(first.row.some((v) => v > 200) && first.row.some((v) => v < 50), 'a bright bar on a dark picture');
  await page.waitForFunction(() => Number(/(\d+)/.exec(document.querySelector('[data-testid=frames-shown]')?.textContent ?? '0')?.[1]) >= 5);
  const later = await sample();
  assert.notDeepEqual(later.row, first.row, 'the picture moves');
  // Controls go to the core and the screen follows its view.
  await page.getByRole('button', { name: 'Mute', exact: true }).click();
  await page.getByRole('button', { name: 'Unmute', pressed: true }).waitFor();
  assert.equal(await page.evaluate(() => window.__FAKE_CORE__.call.muted), true);
  await page.getByRole('button', { name: 'Audio only' }).click();
  await page.getByRole('main').getByRole('status').filter({ hasText: /audio only/ }).waitFor();
  await page.getByLabel('Chat message').fill('Can you show me the wound?');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=chat-line]').length === 2);
  const lines = await page.getByTestId('chat-line').allTextContents();
  assert.deepEqual(lines, ['You: Can you show me the wound?', 'Them: echo: Can you show me the wound?']);
  await page.getByRole('button', { name: 'Encrypted' }).click();
  assert.match(await page.getByTestId('safety-number').textContent(), /12345 67890 12345/);
  // The visit's note is beside the call, for this patient, linked to the call's encounter.
  const note = page.getByRole('complementary', { name: 'Visit note' });
  await note.getByText('Visit note: Ama Mensah').waitFor();
  // The banner says whose note this is, above it.
  await note.getByRole('region', { name: 'Patient', exact: true }).getByText('Mensah, Ama').waitFor();
  await note.getByLabel('Subjective').fill('Wound healing well, no fever');
  await page.waitForFunction(() => window.__FAKE_CORE__.notes.some((n) => n.soap.subjective === 'Wound healing well, no fever'));
  const written = await page.evaluate(() => window.__FAKE_CORE__.notes.find((n) => n.soap.subjective === 'Wound healing well, no fever'));
  assert.equal(written.patient_id, 'e'.repeat(32));
  assert.equal(written.encounter_id, 'd'.repeat(32));
  assert.match(await page.getByTestId('self-view').textContent(), /test pattern/);
  // Call quality on demand, in words a clinician can read out to support.
  await page.getByRole('button', { name: 'Call quality' }).click();
  const quality = await page.getByRole('definition').allTextContents();
  assert.deepEqual(quality.slice(0, 4), ['48 ms', '2.0%', '310 kbit/s', '640 × 360']);
  assert.match(await page.getByTestId('call-stats').textContent(), /keys verified.*Direct between the two devices/);
  // Typing right before the other side hangs up is kept: the note stays, and is saved.
  await note.getByLabel('Plan').fill('Review in two weeks');
  await page.getByRole('button', { name: 'Hang up' }).click();
  await page.waitForFunction(() => /The call ended/.test(document.querySelector('[data-testid=call-ended]')?.textContent ?? ''));
  assert.equal(await note.getByLabel('Plan').inputValue(), 'Review in two weeks');
  await page.waitForFunction(() => window.__FAKE_CORE__.notes.some((n) => n.soap.plan === 'Review in two weeks'));
  await page.getByRole('button', { name: 'Done', exact: true }).click();
  await page.getByRole('heading', { name: 'Waiting room' }).waitFor();
  const calls = await page.evaluate(() => window.__OUTPOST_CALLS__);
  for (const c of ['call_go_online', 'visit_admit', 'call_mute', 'call_audio_only', 'call_chat', 'call_hang_up']) assert.ok(calls.includes(c), c);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a chart that fails to open says so, with Retry, instead of "Opening chart…" forever', async () => {
  const patient = { id: 'c'.repeat(32), given_name: 'Abena', family_name: 'Owusu', birth_date: '1990-02-14', sex: null, clinic_id: 'NK-3', contact: null, created_at: 0, updated_at: 0 };
  const { page, errors } = await openApp({ state: { ...UNLOCKED, patients: [patient], failOnce: { chart: { kind: 'io', message: 'the disk could not be read' } } } });
  await page.getByText('Owusu').click();
  await page.getByRole('alert').filter({ hasText: 'the disk could not be read' }).waitFor();
  assert.equal(await page.getByTestId('chart-loading').textContent(), 'The chart could not be opened.');
  await page.getByRole('button', { name: 'Retry' }).click();
  await page.getByRole('heading', { level: 2 }).waitFor();
  assert.equal(await page.getByRole('heading', { level: 2 }).textContent(), 'Owusu, Abena');
  assert.equal(await page.getByRole('alert').count(), 0, 'the error region clears');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a double click records one vital and registers one patient', async () => {
  const { page, errors } = await openApp({ state: { ...UNLOCKED, slow: { add_vital: 400, add_patient: 400 } } });
  await page.getByRole('button', { name: 'New patient' }).click();
  await page.getByLabel('Given name').fill('Kofi');
  await page.getByLabel('Family name').fill('Mensah');
  await page.getByLabel('Birth date', { exact: true }).fill('1985-06-01');
  await page.getByRole('button', { name: 'Save patient' }).dblclick();
  await page.getByRole('heading', { level: 2 }).waitFor();
  assert.equal(await page.evaluate(() => window.__FAKE_CORE__.patients.length), 1);
  await page.getByLabel('Systolic', { exact: true }).fill('120');
  await page.getByLabel('Diastolic', { exact: true }).fill('80');
  await page.getByRole('button', { name: 'Record', exact: true }).dblclick();
  await page.getByTestId('vital-blood_pressure').waitFor();
  await page.waitForTimeout(600);
  assert.equal(await page.evaluate(() => window.__FAKE_CORE__.vitals.length), 1);
  assert.deepEqual(errors, []);
  await page.close();
});

/**
 * Every form field a person can reach (visible, or reached through its visible label, as a
 * hidden file input is) whose name comes from no label: no <label> text of its own, no
 * aria-label, no aria-labelledby. Stricter than axe, which accepts a placeholder or a title as a
 * name; and a select's options are not its label.
 */
async function unlabelledFields(page) {
  return page.evaluate(() => {
    const text = (node) => (node?.textContent ?? '').replace(/\s+/g, ' ').trim();
    const ownText = (label) => {
      const copy = label.cloneNode(true);
      copy.querySelectorAll('input, select, textarea').forEach((field) => field.remove());
      return text(copy);
    };
    const reachable = (el) => el.checkVisibility() || [...(el.labels ?? [])].some((l) => l.checkVisibility());
    const labelled = (el) =>
      !!el.getAttribute('aria-label')?.trim() ||
      (el.getAttribute('aria-labelledby') ?? '').split(/\s+/).some((id) => id && text(document.getElementById(id))) ||
      [...(el.labels ?? [])].some((l) => ownText(l));
    return [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
      .filter((el) => reachable(el) && !labelled(el))
      .map((el) => `${el.tagName.toLowerCase()}${el.type && el.tagName === 'INPUT' ? `[type=${el.type}]` : ''}${el.placeholder ? ` placeholder="${el.placeholder}"` : ''}${el.dataset.testid ? ` (${el.dataset.testid})` : ''}`);
  });
}

/** Runs axe on the page; returns the serious and critical violations, and every unlabelled field, described. */
async function axeViolations(page) {
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`)
    .concat((await unlabelledFields(page)).map((f) => `unlabelled field: ${f}`));
}

test('the main screens pass an accessibility check on a 1366x768 clinic laptop', async () => {
  const patient = { id: 'c'.repeat(32), given_name: 'Abena', family_name: 'Owusu', birth_date: '1990-02-14', sex: 'female', clinic_id: 'NK-3', contact: null, created_at: 0, updated_at: 0 };
  const conflicts = [
    {
      id: patient.id + '.contact',
      record: patient.id,
      field: 'contact',
      values: [
        { id: '1'.repeat(64), value: '+233 20 111 1111', author: DOCTOR.id, at: 1_700_000_000_000 },
        { id: '2'.repeat(64), value: '+233 24 222 2222', author: 'b'.repeat(32), at: 1_700_000_000_500 },
      ],
    },
  ];
  const NURSE = { id: 'e'.repeat(32), name: 'Nurse Esi', role: 'nurse' };
  const { page, errors } = await openApp({
    state: { ...UNLOCKED, users: [DOCTOR, NURSE], passphrases: { [DOCTOR.id]: 'clinic passphrase', [NURSE.id]: 'nurse passphrase' }, patients: [patient], workspace: WORKSPACE, conflicts },
  });
  await page.setViewportSize({ width: 1366, height: 768 });
  await page.getByRole('table', { name: 'Patients' }).waitFor();
  const found = { list: await axeViolations(page) };
  await page.getByRole('button', { name: 'New patient' }).click();
  await page.getByLabel('Given name').waitFor();
  found['new patient'] = await axeViolations(page);
  await page.getByText('Owusu').click();
  await page.getByRole('heading', { level: 2 }).waitFor();
  found.chart = await axeViolations(page);
  // The vitals form with one value, and a refused reading.
  await page.getByRole('combobox', { name: 'Vital', exact: true }).selectOption('temperature');
  await page.getByLabel('Value', { exact: true }).fill('381');
  await page.getByRole('button', { name: 'Record', exact: true }).click();
  await page.getByRole('alert').waitFor();
  found.vitals = await axeViolations(page);
  await page.getByRole('button', { name: 'New note' }).click();
  await page.getByLabel('Subjective').waitFor();
  found.note = await axeViolations(page);
  await page.getByLabel('Assessment').fill('Febrile illness');
  await signNote(page);
  await page.getByLabel('Addendum').waitFor();
  found['signed note'] = await axeViolations(page);
  await page.getByRole('navigation').getByRole('button', { name: 'People & keys' }).click();
  await page.getByRole('heading', { name: 'People on this laptop' }).waitFor();
  found.people = await axeViolations(page);
  await page.getByRole('button', { name: 'Remove Nurse Esi' }).click();
  await page.getByRole('button', { name: 'Remove for good' }).waitFor();
  found['people, removing'] = await axeViolations(page);
  await page.getByRole('navigation').getByRole('button', { name: 'Sync & team' }).click();
  await page.getByRole('tab', { name: 'Care team' }).click();
  await page.getByRole('button', { name: 'Create invite' }).click();
  await page.getByRole('img', { name: 'Invite code as a QR code' }).waitFor();
  found['care team'] = await axeViolations(page);
  await page.getByRole('tab', { name: /^Conflicts/ }).click();
  await page.getByRole('button', { name: 'Keep this' }).first().waitFor();
  found.conflicts = await axeViolations(page);
  for (const [screen, v] of Object.entries(found)) assert.deepEqual(v, [], `${screen}: ${v.join('; ')}`);
  assert.deepEqual(errors, []);
  await page.close();
});

test('the accessibility check catches a field that lost its label, even with a placeholder', async () => {
  const { page, errors } = await openApp({ state: { ...UNLOCKED, patients: [PATIENT] } });
  await page.getByRole('button', { name: 'Mensah, Kofi' }).click();
  await page.getByRole('heading', { level: 2 }).waitFor();
  assert.deepEqual(await unlabelledFields(page), []);
  // The diastolic field keeps its placeholder but loses its name; the encounter select keeps
  // its options but loses its name.
  await page.getByLabel('Diastolic', { exact: true }).evaluate((el) => el.removeAttribute('aria-label'));
  await page.getByRole('combobox', { name: 'Encounter kind' }).evaluate((el) => el.removeAttribute('aria-label'));
  // A select whose <label> has no words of its own, only the select's options.
  await page.getByRole('heading', { level: 2 }).evaluate((h) => h.insertAdjacentHTML('afterend', '<label><select><option>Female</option></select></label>'));
  const problems = await axeViolations(page);
  assert.deepEqual(
    problems.filter((p) => p.startsWith('unlabelled field')).sort(),
    ['unlabelled field: input[type=text] placeholder="Diastolic" (vital-value2)', 'unlabelled field: select', 'unlabelled field: select (encounter-kind)'],
    problems.join('; '),
  );
  assert.deepEqual(errors, []);
  await page.close();
});

test('people & keys: add a colleague, remove one for good and see the new recovery key once, change my passphrase', async () => {
  const NURSE = { id: 'c'.repeat(32), name: 'Nurse Esi', role: 'nurse' };
  const { page, errors } = await openApp({
    state: { ...UNLOCKED, users: [DOCTOR, NURSE], passphrases: { [DOCTOR.id]: 'clinic passphrase', [NURSE.id]: 'nurse passphrase' } },
  });
  await page.getByRole('button', { name: 'People & keys' }).click();
  await page.getByRole('heading', { name: 'People on this laptop' }).waitFor();
  // Adding needs the passphrase twice, the same.
  await page.getByLabel('Name').fill('Dr. Kamau');
  await page.getByLabel('Role').selectOption('physician');
  await page.getByLabel('Their passphrase', { exact: true }).fill('kamau passphrase 1');
  await page.getByLabel('Their passphrase again').fill('kamau passphrase 2');
  assert.ok(await page.getByRole('button', { name: 'Add colleague' }).isDisabled());
  await page.getByLabel('Their passphrase again').fill('kamau passphrase 1');
  await page.getByRole('button', { name: 'Add colleague' }).click();
  await page.getByRole('cell', { name: 'Dr. Kamau', exact: true }).waitFor();
  // Removing asks once more, then shows the new recovery key, once.
  assert.equal(await page.getByRole('button', { name: `Remove ${DOCTOR.name}` }).count(), 0, 'no button to remove oneself');
  await page.getByRole('button', { name: 'Remove Nurse Esi' }).click();
  // ...with the remover's passphrase asked again: a laptop left unlocked is not enough.
  assert.ok(await page.getByRole('button', { name: 'Remove for good' }).isDisabled());
  await page.getByRole('group', { name: 'Remove Nurse Esi' }).getByLabel('Your passphrase').fill('a guess');
  await page.getByRole('button', { name: 'Remove for good' }).click();
  await page.getByRole('alert').filter({ hasText: 'wrong passphrase' }).waitFor();
  assert.equal(await page.evaluate(() => window.__FAKE_CORE__.users.find((u) => u.name === 'Nurse Esi').removed ?? false), false);
  await page.getByRole('group', { name: 'Remove Nurse Esi' }).getByLabel('Your passphrase').fill('clinic passphrase');
  await page.getByRole('button', { name: 'Remove for good' }).click();
  await page.getByRole('region', { name: 'New recovery key' }).waitFor();
  assert.match(await page.getByRole('region', { name: 'New recovery key' }).textContent(), /NEWK-EYNE/);
  assert.match(await page.getByRole('main').getByRole('status').textContent(), /Nurse Esi was removed/);
  await page.getByRole('row', { name: /Nurse Esi.*Removed/ }).waitFor();
  await page.getByRole('button', { name: 'Show the recovery sheet' }).first().click();
  await page.getByRole('region', { name: 'Recovery sheet' }).waitFor();
  assert.match(await page.getByRole('region', { name: 'Recovery sheet' }).textContent(), /OUTPOST RECOVERY SHEET v1/);
  await page.getByRole('button', { name: 'I have kept it' }).click();
  assert.equal(await page.getByRole('region', { name: 'New recovery key' }).count(), 0);
  // A new recovery key also asks for the passphrase again.
  await page.getByRole('button', { name: 'Issue a new recovery key' }).click();
  await page.getByRole('form', { name: 'Issue a new recovery key' }).getByLabel('Your passphrase').fill('clinic passphrase');
  await page.getByRole('button', { name: 'Issue the new key' }).click();
  assert.match(await page.getByRole('region', { name: 'New recovery key' }).textContent(), /ROTA-TEDK/);
  await page.getByRole('button', { name: 'I have kept it' }).click();
  // A wrong current passphrase is refused in the core's words.
  await page.getByLabel('Current passphrase').fill('not it');
  await page.getByLabel('New passphrase', { exact: true }).fill('a new clinic passphrase');
  await page.getByLabel('New passphrase again').fill('a new clinic passphrase');
  await page.getByRole('button', { name: 'Change passphrase' }).click();
  await page.getByRole('alert').filter({ hasText: 'wrong passphrase' }).waitFor();
  await page.getByLabel('Current passphrase').fill('clinic passphrase');
  await page.getByRole('button', { name: 'Change passphrase' }).click();
  await page.getByRole('status').filter({ hasText: 'Your passphrase was changed' }).waitFor();
  assert.equal(await page.evaluate(() => window.__FAKE_CORE__.passphrases['a'.repeat(32)]), 'a new clinic passphrase');
  assert.deepEqual(errors, []);
  await page.close();
});

test('Lock right after typing saves the note; the same person comes back to it, someone else to the patient list', async () => {
  const NURSE = { id: 'e'.repeat(32), name: 'Nurse Esi', role: 'nurse' };
  const patient = { id: 'c'.repeat(32), given_name: 'Abena', family_name: 'Owusu', birth_date: '1990-02-14', sex: null, clinic_id: null, contact: null, created_at: 0, updated_at: 0 };
  const { page, errors } = await openApp({
    state: { ...UNLOCKED, users: [DOCTOR, NURSE], passphrases: { [DOCTOR.id]: 'clinic passphrase', [NURSE.id]: 'nurse passphrase' }, patients: [patient] },
  });
  await page.getByRole('button', { name: 'Owusu, Abena' }).click();
  await page.getByRole('button', { name: 'New note' }).click();
  await page.getByLabel('Subjective').fill('Fever for two days');
  await page.waitForFunction(() => window.__FAKE_CORE__.notes.length === 1);
  // Typed within the autosave delay, then Lock at once.
  await page.getByLabel('Subjective').fill('Fever for two days, worse at night');
  await page.getByRole('button', { name: 'Lock' }).click();
  await page.getByRole('heading', { name: 'Outpost is locked' }).waitFor();
  assert.equal(await page.evaluate(() => window.__FAKE_CORE__.notes[0].soap.subjective), 'Fever for two days, worse at night');
  // The same doctor unlocks: back in the note, with the text.
  await page.getByLabel('Passphrase', { exact: true }).fill('clinic passphrase');
  await page.getByRole('button', { name: 'Unlock', exact: true }).click();
  await page.getByLabel('Subjective').waitFor();
  assert.equal(await page.getByLabel('Subjective').inputValue(), 'Fever for two days, worse at night');
  await page.getByRole('button', { name: 'Lock' }).click();
  // The nurse unlocks the same laptop: the patient list, not the doctor's patient.
  await page.getByRole('combobox', { name: 'Who are you?' }).selectOption(NURSE.id);
  await page.getByLabel('Passphrase', { exact: true }).fill('nurse passphrase');
  await page.getByRole('button', { name: 'Unlock', exact: true }).click();
  await page.getByRole('table', { name: 'Patients' }).waitFor();
  assert.equal(await page.getByLabel('Subjective').count(), 0);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a note that cannot be saved keeps Lock from locking, and Retry saves it and locks', async () => {
  const patient = { id: 'c'.repeat(32), given_name: 'Abena', family_name: 'Owusu', birth_date: '1990-02-14', sex: null, clinic_id: null, contact: null, created_at: 0, updated_at: 0 };
  const { page, errors } = await openApp({ state: { ...UNLOCKED, patients: [patient] } });
  await page.getByRole('button', { name: 'Owusu, Abena' }).click();
  await page.getByRole('button', { name: 'New note' }).click();
  await page.getByLabel('Subjective').fill('Fever');
  await page.waitForFunction(() => window.__FAKE_CORE__.notes.length === 1);
  // The disk fills: the next save fails, once.
  await page.evaluate(() => (window.__FAKE_CORE__.failOnce = { update_draft: { kind: 'storage', message: 'storage error: disk full' } }));
  await page.getByLabel('Subjective').fill('Fever, and a rash on both arms');
  await page.getByRole('button', { name: 'Lock' }).click();
  await page.getByRole('alert').filter({ hasText: 'did not lock' }).waitFor();
  assert.equal(await page.getByRole('heading', { name: 'Outpost is locked' }).count(), 0, 'locked with the text unsaved');
  assert.equal(await page.getByLabel('Subjective').inputValue(), 'Fever, and a rash on both arms');
  await page.getByRole('button', { name: 'Retry' }).click();
  await page.getByRole('heading', { name: 'Outpost is locked' }).waitFor();
  assert.equal(await page.evaluate(() => window.__FAKE_CORE__.notes[0].soap.subjective), 'Fever, and a rash on both arms');
  assert.deepEqual(errors, []);
  await page.close();
});

test('when the core locks itself the screen is cleared at once, not at the next poll', async () => {
  const patient = { id: 'c'.repeat(32), given_name: 'Abena', family_name: 'Owusu', birth_date: '1990-02-14', sex: null, clinic_id: null, contact: null, created_at: 0, updated_at: 0 };
  const { page, errors } = await openApp({ state: { ...UNLOCKED, patients: [patient] } });
  await page.getByRole('button', { name: 'Owusu, Abena' }).click();
  await page.getByRole('button', { name: 'New note' }).waitFor();
  // The idle lock happens in the core; the shell emits `locked`.
  await page.evaluate(() => {
    window.__FAKE_CORE__.current = null;
    window.__FAKE_EMIT__('locked');
  });
  await page.getByRole('heading', { name: 'Outpost is locked' }).waitFor({ timeout: 3000 });
  assert.equal(await page.getByText('Owusu').count(), 0, 'no patient name left on screen');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a nurse is offered what a nurse may do: no backup section, no sign button', async () => {
  const NURSE = { id: 'e'.repeat(32), name: 'Nurse Esi', role: 'nurse' };
  const patient = { id: 'c'.repeat(32), given_name: 'Abena', family_name: 'Owusu', birth_date: '1990-02-14', sex: null, clinic_id: null, contact: null, created_at: 0, updated_at: 0 };
  const { page, errors } = await openApp({ state: { users: [NURSE], passphrases: { [NURSE.id]: 'nurse passphrase' }, current: NURSE, patients: [patient] } });
  await page.getByRole('table', { name: 'Patients' }).waitFor();
  await page.getByRole('navigation').getByText('Audit log').waitFor();
  assert.equal(await page.getByRole('navigation').getByText('Backup').count(), 0, 'no backup section for a nurse');
  await page.getByText('Owusu').click();
  await page.getByRole('button', { name: 'New note' }).click();
  await page.getByLabel('Subjective').fill('Fever for two days');
  await page.getByTestId('note-sign-not-yours').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Sign note' }).count(), 0);
  // Her own passphrase, yes; the list of people and the recovery key, no.
  await page.getByRole('navigation').getByText('People & keys').click();
  await page.getByRole('heading', { name: 'Change my passphrase' }).waitFor();
  assert.equal(await page.getByRole('heading', { name: 'People on this laptop' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: 'Issue a new recovery key' }).count(), 0);
  assert.deepEqual(errors, []);
  await page.close();
});

test('allergies and prescribing: the banner says what is known; a penicillin allergy refuses amoxicillin until a reason is given; the banner stays above the note', async () => {
  const patient = { id: 'c'.repeat(32), given_name: 'Abena', family_name: 'Owusu', birth_date: '1987-04-12', sex: 'female', clinic_id: 'NK-3', contact: null, created_at: 0, updated_at: 0 };
  const { page, errors } = await openApp({ state: { ...UNLOCKED, patients: [patient] } });
  await page.setViewportSize({ width: 1366, height: 768 });
  await page.getByRole('button', { name: 'Owusu, Abena' }).click();
  const banner = page.getByRole('region', { name: 'Patient', exact: true });
  await banner.waitFor();
  assert.match(await banner.textContent(), /Owusu, Abena.*36 y.*female.*NK-3.*Allergies not asked yet.*no weight recorded/s);
  // The banner, and the allergies, are on screen without scrolling on a clinic laptop.
  const box = await banner.boundingBox();
  assert.ok(box.y >= 0 && box.y + box.height < 768, `banner at ${JSON.stringify(box)}`);

  // A nurse-style entry: the allergy, then the banner says it in red.
  await page.getByLabel('Substance').fill('Penicillin');
  await page.getByLabel('Reaction').fill('anaphylaxis');
  await page.getByRole('combobox', { name: 'Severity' }).selectOption('severe');
  await page.getByRole('button', { name: 'Record allergy' }).click();
  await until(async () => /Allergies: Penicillin \(severe\)/.test(await banner.textContent()), 'the banner names the allergy');
  assert.equal(await page.getByRole('button', { name: 'No known drug allergies' }).count(), 0, 'no "none known" over a recorded allergy');

  // Prescribing amoxicillin is refused, in the core's words, and asks why before going ahead.
  await page.getByText('Prescribe…', { exact: true }).click();
  const form = page.getByRole('form', { name: 'Prescribe' });
  await form.getByLabel('Drug').fill('Amoxicillin');
  await form.getByLabel('Dose').fill('500 mg');
  await form.getByLabel('How often').fill('three times a day');
  await form.getByLabel('For how long').fill('5 days');
  await form.getByRole('button', { name: 'Prescribe' }).click();
  const refusal = form.getByRole('alert');
  await refusal.waitFor();
  assert.match(await refusal.textContent(), /Not prescribed\..*amoxicillin belongs with penicillins.*severe/s);
  assert.equal(await page.evaluate(() => window.__FAKE_CORE__.medications.length), 0);
  const anyway = form.getByRole('button', { name: 'Prescribe anyway' });
  assert.ok(await anyway.isDisabled(), 'no override without a reason');
  // A reason typed for one drug never carries over to another: changing the drug clears it.
  await form.getByLabel('Why prescribe it anyway').fill('a reason for something else');
  await form.getByLabel('Drug').fill('Amoxicillin ');
  assert.equal(await form.getByRole('alert').count(), 0);
  await form.getByRole('button', { name: 'Prescribe' }).click();
  await refusal.waitFor();
  assert.equal(await form.getByLabel('Why prescribe it anyway').inputValue(), '');
  await form.getByLabel('Why prescribe it anyway').fill('tolerated a full course in 2025');
  await anyway.click();
  const meds = page.getByRole('region', { name: 'Medications' });
  await meds.getByText('override: tolerated a full course in 2025').waitFor();
  assert.equal(await page.evaluate(() => window.__FAKE_CORE__.medications[0].override_reason), 'tolerated a full course in 2025');

  // Stopping asks why.
  await meds.getByRole('button', { name: 'Stop amoxicillin…' }).click();
  await meds.getByRole('group', { name: 'Stop amoxicillin' }).getByLabel('Why').fill('course finished');
  await meds.getByRole('button', { name: 'Stop', exact: true }).click();
  await meds.getByText('1 stopped').waitFor();

  // A coded diagnosis, and one in words that no code fits (shown uncoded).
  const problems = page.getByRole('region', { name: 'Problems' });
  await problems.getByText('Add a problem…', { exact: true }).click();
  await problems.getByLabel('Diagnosis').fill('I10');
  await problems.getByLabel('Since').fill('2019-06-01');
  await problems.getByRole('button', { name: 'Add problem' }).click();
  await problems.getByText('Essential (primary) hypertension').waitFor();
  assert.match(await problems.getByRole('listitem').first().textContent(), /I10\s*Essential \(primary\) hypertension · since 2019-06-01/);
  await problems.getByLabel('Diagnosis').fill('Snake bite');
  await problems.getByRole('button', { name: 'Add problem' }).click();
  await problems.getByText('uncoded').waitFor();

  // In the note editor the banner is still there, for the same patient.
  await page.getByRole('button', { name: 'New note' }).click();
  await page.getByLabel('Subjective').waitFor();
  assert.match(await page.getByRole('region', { name: 'Patient', exact: true }).textContent(), /Owusu, Abena.*Allergies: Penicillin/s);
  assert.deepEqual(await axeViolations(page), []);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a nurse records "no known drug allergies" and is offered no prescribing', async () => {
  const NURSE = { id: 'e'.repeat(32), name: 'Nurse Esi', role: 'nurse' };
  const patient = { id: 'c'.repeat(32), given_name: 'Kofi', family_name: 'Mensah', birth_date: '1987-04-12', sex: null, clinic_id: null, contact: null, created_at: 0, updated_at: 0 };
  const { page, errors } = await openApp({ state: { users: [NURSE], passphrases: { [NURSE.id]: 'nurse passphrase' }, current: NURSE, patients: [patient] } });
  await page.getByRole('button', { name: 'Mensah, Kofi' }).click();
  const banner = page.getByRole('region', { name: 'Patient', exact: true });
  await banner.waitFor();
  await page.getByRole('button', { name: 'No known drug allergies' }).click();
  await until(async () => /No known drug allergies/.test(await banner.textContent()), 'the banner says none known');
  assert.equal(await page.getByRole('form', { name: 'Prescribe' }).count(), 0);
  await page.getByRole('region', { name: 'Medications' }).getByText('No current medications.').waitFor();
  assert.deepEqual(errors, []);
  await page.close();
});

test('vitals: a full set taken together (from paper, with its time) becomes one flowsheet row, and a fever is flagged with its range', async () => {
  const patient = { id: 'p'.repeat(32), given_name: 'Kofi', family_name: 'Mensah', birth_date: '1987-04-12', sex: null, clinic_id: null, contact: null, created_at: 1 };
  const { page, errors } = await openApp({ state: { ...UNLOCKED, patients: [patient] } });
  await page.getByRole('button', { name: 'Mensah, Kofi' }).click();
  const vitals = page.getByRole('region', { name: 'Vitals' });
  await vitals.getByRole('combobox', { name: 'Vital' }).selectOption('pulse');
  await vitals.getByLabel('Value').fill('80');
  await vitals.getByRole('button', { name: 'Record', exact: true }).click();
  await vitals.getByText('Record a full set…').click();
  const set = vitals.getByRole('form', { name: 'Record a full set of vitals' });
  await set.getByLabel('Blood pressure systolic (mmHg)').fill('150');
  await set.getByLabel('Temperature (°C)').fill('38,6');
  await set.getByLabel('MUAC (cm)').fill('24');
  await set.getByRole('button', { name: 'Record these' }).click();
  // The systolic alone is refused before anything is sent: the diastolic is missing.
  await set.getByRole('alert').filter({ hasText: 'and the diastolic' }).waitFor();
  assert.equal(await page.evaluate(() => window.__FAKE_CORE__.vitals.length), 1);
  await set.getByLabel('Blood pressure diastolic (mmHg)').fill('95');
  await set.getByLabel('Measured at (leave empty for now)').fill('2023-11-13T08:30');
  await set.getByRole('button', { name: 'Record these' }).click();
  await until(async () => (await page.evaluate(() => window.__FAKE_CORE__.vitals.length)) === 4, 'three readings recorded');
  const times = await page.evaluate(() => window.__FAKE_CORE__.vitals.slice(1).map((v) => v.observed_at));
  assert.equal(new Set(times).size, 1, 'one time for the set');
  assert.equal(times[0], new Date('2023-11-13T08:30').getTime());
  // The fever is flagged, with the range the core used.
  await vitals.getByText('high: fever: 37.5 °C or more').first().waitFor();
  await vitals.getByText('Flowsheet (2 sets)').click();
  const sheet = vitals.getByRole('table', { name: 'Vitals flowsheet' });
  assert.equal(await sheet.getByRole('row').count(), 3);
  assert.match(await sheet.getByRole('row').nth(2).textContent(), /150\/95 mmHg.*38\.6 °C.*24 cm/s);
  assert.deepEqual(errors, []);
  await page.close();
});

test('registering someone who may already have a chart warns first; open theirs, or register anyway', async () => {
  const existing = { id: 'p'.repeat(32), given_name: 'Wanjiru', family_name: 'Kamau', birth_date: '1991-03-14', sex: 'female', clinic_id: 'NK-7', contact: '0712 000 111', created_at: 1 };
  const { page, errors } = await openApp({ state: { ...UNLOCKED, patients: [existing] } });
  await page.getByRole('table', { name: 'Patients' }).waitFor();
  const register = async (given) => {
    await page.getByRole('button', { name: 'New patient' }).click();
    await page.getByLabel('Given name').fill(given);
    await page.getByLabel('Family name').fill('kamau');
    await page.getByLabel('Birth date', { exact: true }).fill('1991-07-01');
    await page.getByRole('button', { name: 'Save patient' }).click();
  };
  await register('Wanjiru');
  const warning = page.getByRole('alert').filter({ hasText: 'This may be someone already registered' });
  await warning.waitFor();
  assert.match(await warning.textContent(), /Kamau, Wanjiru · born 1991-03-14 · No\. NK-7/);
  assert.equal(await page.evaluate(() => window.__FAKE_CORE__.patients.length), 1, 'nothing registered yet');
  // It is her: open her chart instead.
  await warning.getByRole('button', { name: 'Kamau, Wanjiru' }).click();
  await page.getByRole('region', { name: 'Patient', exact: true }).waitFor();
  assert.equal(await page.evaluate(() => window.__FAKE_CORE__.patients.length), 1);
  // Another Kamau born that year is another person: registered on the second word.
  await page.getByRole('button', { name: '← All patients' }).click();
  await register('Njeri');
  await warning.waitFor();
  await page.getByRole('button', { name: 'Register a new chart anyway' }).click();
  await until(async () => (await page.evaluate(() => window.__FAKE_CORE__.patients.length)) === 2, 'the second chart is registered');
  assert.deepEqual(errors, []);
  await page.close();
});

test('the audit trail reads as who did what to whom, filters by picked user, patient and dates, pages, and exports', async () => {
  const NURSE = { id: 'e'.repeat(32), name: 'Nurse Esi', role: 'nurse' };
  const kofi = { id: 'p'.repeat(32), given_name: 'Kofi', family_name: 'Mensah', birth_date: '1987-04-12', sex: null, clinic_id: null, contact: null, created_at: 1 };
  const at = 1_700_000_000_000;
  const entry = (seq, actor, action, record_id = null) => ({ device: 'd'.repeat(32), seq, at: at + seq * 60_000, actor, action, record_kind: null, record_id, patient_id: null, detail: null, legacy: false });
  const audit = [entry(1, DOCTOR.id, 'patient_registered', kofi.id), entry(2, NURSE.id, 'chart_read', kofi.id), entry(3, NURSE.id, 'vital_recorded', kofi.id)];
  for (let i = 4; i < 130; i++) audit.push(entry(i, DOCTOR.id, 'unlock'));
  const { page, errors } = await openApp({ state: { ...UNLOCKED, users: [DOCTOR, NURSE], passphrases: { [DOCTOR.id]: 'clinic passphrase' }, patients: [kofi], audit, members: [DOCTOR, NURSE] } });
  await page.getByRole('navigation').getByRole('button', { name: 'Audit log' }).click();
  const table = page.getByRole('table', { name: 'Audit trail' });
  await table.getByRole('row').nth(1).waitFor();
  // A page at a time: 100, then the rest.
  assert.equal(await table.getByRole('row').count(), 101);
  await page.getByRole('button', { name: 'Show older entries' }).click();
  await until(async () => (await table.getByRole('row').count()) === 130, 'the second page');
  // Filter by a patient picked by name, then by a user picked from the list.
  await page.getByLabel('Find a patient').fill('Mensah');
  await page.getByRole('combobox', { name: 'Patient', exact: true }).selectOption(kofi.id);
  await until(async () => (await table.getByRole('row').count()) === 4, 'three entries about Kofi');
  assert.match(await table.getByRole('row').nth(1).textContent(), /Nurse Esi \(nurse\)\s*recorded a vital sign\s*Mensah, Kofi/);
  await page.getByRole('combobox', { name: 'User', exact: true }).selectOption(DOCTOR.id);
  await until(async () => (await table.getByRole('row').count()) === 2, 'one entry by the doctor about Kofi');
  assert.match(await table.getByRole('row').nth(1).textContent(), /Dr\. Achieng \(physician\)\s*registered a patient/);
  // Export: saved where the dialog said, and recorded.
  await page.getByRole('button', { name: 'Export CSV…' }).click();
  await page.getByRole('status').filter({ hasText: 'Saved to /home/clinic/outpost-audit.csv' }).waitFor();
  assert.equal(await page.evaluate(() => window.__FAKE_CORE__.audit.at(-1).action), 'audit_exported');
  assert.deepEqual(errors, []);
  await page.close();
});

// ---- Languages ----------------------------------------------------------------------------

/** The pseudo-locale's spelling of an English message (as `pseudo` in src/lib/i18n.svelte.ts). */
function pseudo(english) {
  const map = 'áƀçðéƒĝĥíĵķĺɱñóþǫŕšţúṽŵẋýžÁƁÇÐÉƑĜĤÍĴĶĹṀÑÓÞǪŔŠŢÚṼŴẊÝŽ';
  const abc = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
  return `⟦${english.replace(/[A-Za-z]/g, (c) => map[abc.indexOf(c)])}⟧`;
}

/**
 * The words a person can see or hear on the page (text, and the names, hints and titles of
 * controls) that are not from a catalogue: in the pseudo-locale every catalogue message is
 * bracketed, so what is left is either data or a string written into the code.
 */
async function hardCoded(page, allowed) {
  const shown = await page.evaluate(() => {
    const out = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      if (el && !['SCRIPT', 'STYLE'].includes(el.tagName) && el.checkVisibility() && n.textContent.trim()) out.push(el.closest('[data-testid]') ? `${n.textContent}` : n.textContent);
    }
    // Text nodes split a message around its markup: join each element's own text, too.
    for (const el of document.querySelectorAll('body *')) {
      if (!el.checkVisibility()) continue;
      for (const attr of ['aria-label', 'placeholder', 'title', 'alt']) {
        const v = el.getAttribute(attr);
        if (v?.trim()) out.push(v);
      }
    }
    return out;
  });
  const words = new Set();
  for (const text of shown) {
    const rest = text.replace(/⟦[^⟧]*⟧/g, ' ');
    for (const w of rest.match(/[A-Za-z]{2,}/g) ?? []) if (!allowed.has(w)) words.add(w);
  }
  return [...words];
}

/** Words that may stay as they are in any language: data, symbols, and what Intl writes in English. */
function allowedWords(...data) {
  const words = new Set(
    'Outpost Ctrl Alt mmHg kg cm SpO BMI bpm mg dL mmol min KiB MiB MB ICD CM QR ATC SFrame AES GCM ms kbit Mbit UTC AM PM Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec mock'.split(' '),
  );
  for (const d of data) for (const w of JSON.stringify(d).match(/[A-Za-z]{2,}/g) ?? []) words.add(w);
  return words;
}

test('the pseudo-locale leaves no hard-coded words on any screen', async () => {
  const patient = { id: 'c'.repeat(32), given_name: 'Abena', family_name: 'Owusu', birth_date: '1990-02-14', sex: 'female', clinic_id: 'NK-3', contact: '+233 20 111 1111', created_at: 0, updated_at: 0 };
  const at = 1_700_000_000_000;
  const state = {
    ...UNLOCKED,
    patients: [patient],
    workspace: WORKSPACE,
    allergies: [{ id: 'a1'.repeat(16), patient_id: patient.id, substance: 'Penicillin', code: 'group:penicillins', reaction: 'hives', severity: 'severe', recorded_at: at, recorded_by: DOCTOR.id, removed_at: null, removed_reason: null }],
    medications: [{ id: 'm1'.repeat(16), patient_id: patient.id, encounter_id: null, atc: 'N02BE01', drug: 'paracetamol', dose: '1 g', route: 'oral', frequency: 'qds', duration: '3 d', instructions: null, override_reason: null, prescribed_at: at, prescribed_by: DOCTOR.id, stopped_at: null, stopped_reason: null, conflicts_with: [] }],
    problems: [{ id: 'q1'.repeat(16), patient_id: patient.id, encounter_id: null, code: 'B54', title: 'Unspecified malaria', onset: '2023-11-01', recorded_at: at, recorded_by: DOCTOR.id, resolved_at: null, resolved_reason: null }],
    vitals: [{ id: 'v1'.repeat(16), patient_id: patient.id, encounter_id: null, kind: 'temperature', value: 38.6, value2: null, unit: '', observed_at: at, recorded_by: DOCTOR.id, legacy: false, flag: { level: 'high', rule: 'temperature_fever', range: 'fever: 37.5 °C or more' } }, { id: 'v2'.repeat(16), patient_id: patient.id, encounter_id: null, kind: 'weight', value: 7, value2: null, unit: '', observed_at: at, recorded_by: DOCTOR.id, legacy: false, flag: null, entered_in_error: { by: DOCTOR.id, at, reason: 'typed 7 for 70' } }],
    encounters: [{ id: 'e1'.repeat(16), patient_id: patient.id, kind: 'outpatient', status: 'in_progress', started_at: Date.now() - 600_000, ended_at: null, practitioner: DOCTOR.id, legacy: false, reason: 'fever' }],
  };
  // The flag's range is said by its rule in the catalogues, not in the core's English.
  const allowed = allowedWords(INFO, { ...state, vitals: state.vitals.map(({ flag, ...reading }) => reading) });
  const found = {};
  const visit = async (page, screen) => {
    const words = await hardCoded(page, allowed);
    if (words.length) found[screen] = words;
  };
  const open = async (seed) => {
    const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
    await page.addInitScript(() => localStorage.setItem('outpost.locale', 'qps'));
    await page.addInitScript(installFakeCore, { info: seed.info ?? INFO, state: seed.state });
    await page.goto(baseUrl);
    return page;
  };

  let page = await open({});
  await page.getByRole('region', { name: pseudo('Set up Outpost on this device') }).waitFor();
  await visit(page, 'onboarding');
  await page.close();

  page = await open({ state: { ...state, current: null } });
  await page.getByRole('heading', { name: pseudo('Outpost is locked') }).waitFor();
  await visit(page, 'unlock');
  await page.close();

  page = await open({ state });
  await page.getByRole('button', { name: 'Owusu, Abena' }).waitFor();
  await visit(page, 'patients');
  await page.getByRole('button', { name: pseudo('New patient') }).click();
  await page.getByLabel(pseudo('Given name')).waitFor();
  await visit(page, 'new patient');
  await page.getByRole('button', { name: 'Owusu, Abena' }).click();
  await page.getByRole('heading', { level: 2 }).waitFor();
  await visit(page, 'chart');
  await page.getByRole('button', { name: pseudo('New note') }).click();
  await page.getByLabel(pseudo('Subjective')).waitFor();
  await visit(page, 'note editor');
  for (const section of ['visits', 'sync', 'people', 'backup', 'audit', 'alerts', 'about']) {
    const button = page.getByTestId(`nav-${section}`);
    if ((await button.count()) === 0) continue;
    await button.click();
    await page.waitForTimeout(300);
    await visit(page, section);
  }
  await page.close();
  assert.deepEqual(found, {});
});

test('in French the chart, its cards and a refusal from the core are in French', async () => {
  const patient = { id: 'c'.repeat(32), given_name: 'Abena', family_name: 'Owusu', birth_date: '1990-02-14', sex: 'female', clinic_id: 'NK-3', contact: null, created_at: 0, updated_at: 0 };
  const { page, errors } = await openApp({ state: { ...UNLOCKED, patients: [patient] } });
  await page.getByRole('button', { name: 'Owusu, Abena' }).waitFor();
  // The language is chosen in About and kept for the next start.
  await page.getByTestId('nav-about').click();
  await page.getByRole('combobox', { name: 'Language' }).selectOption('fr');
  await page.getByRole('heading', { name: 'À propos' }).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'fr');
  await page.reload();
  await page.getByTestId('nav-patients').click();
  await page.getByRole('button', { name: 'Owusu, Abena' }).click();
  await page.getByRole('button', { name: 'Aucune allergie médicamenteuse connue' }).waitFor();
  await page.getByLabel('Substance').fill('Penicillin');
  await page.getByLabel('Réaction').fill('urticaire');
  await page.getByRole('combobox', { name: 'Gravité' }).selectOption('severe');
  await page.getByRole('button', { name: "Enregistrer l'allergie" }).click();
  await page.getByText('Penicillin').first().waitFor();
  // A temperature with a decimal comma in the flowsheet.
  await page.getByRole('combobox', { name: 'Constante', exact: true }).selectOption('temperature');
  await page.getByLabel('Valeur', { exact: true }).fill('38.6');
  await page.getByRole('button', { name: 'Enregistrer', exact: true }).click();
  await page.getByText('38,6').first().waitFor();
  // Amoxicillin is refused in French words, the allergy group named in French.
  await page.getByText('Prescrire…', { exact: true }).click();
  const form = page.getByRole('form', { name: 'Prescrire' });
  await form.getByLabel('Médicament').fill('Amoxicillin');
  await form.getByLabel('Dose').fill('500 mg');
  await form.getByLabel('Fréquence').fill('trois fois par jour');
  await form.getByLabel('Durée').fill('5 jours');
  await form.getByRole('button', { name: 'Prescrire' }).click();
  await form.getByRole('alert').waitFor();
  const refusal = await form.getByRole('alert').textContent();
  assert.match(refusal, /pénicillines/);
  assert.doesNotMatch(refusal, /belongs with|severe|override reason/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a small child: her WHO growth curves and z-scores, with wasting and underweight said in words', async () => {
  const growth = JSON.parse(readFileSync(new URL('./growth-fixture.json', import.meta.url), 'utf8'));
  const girl = { id: 'g'.repeat(32), given_name: 'Ama', family_name: 'Boateng', birth_date: '2025-09-29', sex: 'female', clinic_id: null, contact: null, created_at: 0, updated_at: 0 };
  const { page, errors } = await openApp({
    state: { ...UNLOCKED, patients: [girl], growth: { [girl.id]: growth.growth }, growthCurves: growth.growth_curves, age: { years: 1, months: 2, days: 426, unit: 'years_months', text: '1 y 2 m' } },
  });
  await page.setViewportSize({ width: 1366, height: 768 });
  await page.getByRole('button', { name: 'Boateng, Ama' }).click();
  const card = page.getByRole('region', { name: 'Growth (WHO standards)' });
  await card.waitFor();
  for (const name of ['Weight-for-age: 5 measurements on the WHO lines', 'Length/height-for-age: 5 measurements on the WHO lines']) {
    const plot = card.getByRole('img', { name });
    assert.equal(await plot.locator('circle').count(), 5, name);
    assert.equal(await plot.locator('polyline').count(), 5, `${name}: the five WHO lines`);
  }
  const rows = card.getByRole('table', { name: 'Growth z-scores' }).getByRole('row');
  assert.equal(await rows.count(), 6, 'a header and one row a day');
  // Newest first: weight-for-age −2.59 (underweight), weight-for-length −2.64 (wasting).
  const latest = await rows.nth(1).textContent();
  assert.match(latest, /1 y 2 m.*6\.9 kg.*72\.5 cm.*-2\.59 ?underweight.*-1\.44.*-2\.64 ?wasting/s);
  assert.doesNotMatch(await rows.nth(5).textContent(), /underweight|wasting|stunted/, 'a normal day says nothing');
  assert.deepEqual(await axeViolations(page), []);
  assert.deepEqual(errors, []);
  await page.close();
});

for (const [width, height] of [[1280, 800], [1366, 768]]) {
  test(`a clinic visit at ${width}x${height}: register with an estimated age past a duplicate warning, allergy, a refused then overridden prescription, a full set of vitals, finish`, async () => {
    const year = new Date().getUTCFullYear();
    const earlier = { id: 'c'.repeat(32), given_name: 'Abena', family_name: 'Owusu', birth_date: `${year - 40}-03-02`, sex: 'female', clinic_id: 'NK-3', contact: null, created_at: 0, updated_at: 0, national_id: null, guardian: null, birth_date_estimated: false };
    const { page, errors } = await openApp({ state: { ...UNLOCKED, patients: [earlier] } });
    await page.setViewportSize({ width, height });
    const screens = {};
    // Registration: no birth date, "about 40", and an identity number.
    await page.getByRole('button', { name: 'New patient' }).click();
    await page.getByLabel('Given name').fill('Abena');
    await page.getByLabel('Family name').fill('Owusu');
    await page.getByLabel('Birth date not known').check();
    await page.getByLabel('Age in years (about)').fill('40');
    await page.getByLabel('National ID').fill('GHA-555-1');
    await page.getByRole('button', { name: 'Save patient' }).click();
    // Someone with the same name born the same year: warned first.
    const warning = page.getByRole('alert').filter({ hasText: 'This may be someone already registered.' });
    await warning.waitFor();
    screens['duplicate warning'] = await axeViolations(page);
    await page.getByRole('button', { name: 'Register a new chart anyway' }).click();
    const banner = page.getByRole('region', { name: 'Patient', exact: true });
    await banner.waitFor();
    assert.match(await banner.textContent(), /Owusu, Abena.*about \d+ y.*ID GHA-555-1/s);
    const saved = await page.evaluate(() => window.__FAKE_CORE__.patients[1]);
    assert.equal(saved.birth_date_estimated, true);
    assert.equal(saved.birth_date.slice(0, 4), String(year - 40));
    // The banner, the vitals and the encounter are on screen without scrolling.
    for (const region of ['Patient', 'Vitals', 'Encounters']) {
      const box = await page.getByRole('region', { name: region, exact: true }).boundingBox();
      assert.ok(box && box.y >= 0 && box.y < height, `${region} visible at ${JSON.stringify(box)}`);
    }
    await page.getByLabel('Reason for visit').fill('fever and cough');
    await page.getByRole('button', { name: 'Start encounter' }).click();
    const visits = page.getByRole('region', { name: 'Encounters' });
    await until(async () => /fever and cough\s*· in progress/.test(await visits.textContent()), 'the encounter is open');
    // A nurse-style allergy entry.
    await page.getByLabel('Substance').fill('Penicillin');
    await page.getByLabel('Reaction').fill('anaphylaxis');
    await page.getByRole('combobox', { name: 'Severity' }).selectOption('severe');
    await page.getByRole('button', { name: 'Record allergy' }).click();
    await until(async () => /Allergies: Penicillin \(severe\)/.test(await banner.textContent()), 'the banner names the allergy');
    // Amoxicillin refused, then prescribed with a reason.
    await page.getByText('Prescribe…', { exact: true }).click();
    const form = page.getByRole('form', { name: 'Prescribe' });
    await form.getByLabel('Drug').fill('Amoxicillin');
    await form.getByLabel('Dose').fill('500 mg');
    await form.getByLabel('How often').fill('three times a day');
    await form.getByLabel('For how long').fill('5 days');
    await form.getByRole('button', { name: 'Prescribe' }).click();
    await form.getByRole('alert').waitFor();
    screens['prescription refused'] = await axeViolations(page);
    await form.getByLabel('Why prescribe it anyway').fill('tolerated a full course last year');
    await form.getByRole('button', { name: 'Prescribe anyway' }).click();
    await page.getByRole('region', { name: 'Medications' }).getByText('override: tolerated a full course last year').waitFor();
    // The full set of vitals, in one row.
    const vitals = page.getByRole('region', { name: 'Vitals' });
    await vitals.getByText('Record a full set…').click();
    const set = vitals.getByRole('form', { name: 'Record a full set of vitals' });
    await set.getByLabel('Blood pressure systolic (mmHg)').fill('128');
    await set.getByLabel('Blood pressure diastolic (mmHg)').fill('82');
    await set.getByLabel('Temperature (°C)').fill('38.2');
    await set.getByRole('button', { name: 'Record these' }).click();
    await until(async () => (await page.evaluate(() => window.__FAKE_CORE__.vitals.length)) === 2, 'the set is recorded');
    screens.chart = await axeViolations(page);
    const encounterId = await page.evaluate(() => window.__FAKE_CORE__.encounters[0].id);
    assert.deepEqual(await page.evaluate(() => window.__FAKE_CORE__.vitals.map((v) => v.encounter_id)), [encounterId, encounterId], 'the set belongs to the visit');
    await visits.getByRole('button', { name: 'Finish the encounter for fever and cough' }).click();
    await until(async () => /finished/.test(await visits.textContent()), 'the encounter is finished');
    for (const [screen, v] of Object.entries(screens)) assert.deepEqual(v, [], `${screen}: ${v.join('; ')}`);
    assert.deepEqual(errors, []);
    await page.close();
  });
}

test('keyboard: Ctrl+K searches, Alt+V goes to the vitals, / in a note is only a slash, Ctrl+L locks; a section change puts focus on its heading', async () => {
  const { page, errors } = await openApp({ state: { ...UNLOCKED, patients: [PATIENT] } });
  await page.getByRole('button', { name: 'Mensah, Kofi' }).click();
  await page.getByRole('heading', { level: 2 }).waitFor();
  const focused = () => page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? document.activeElement?.id ?? document.activeElement?.tagName);
  await page.keyboard.press('Alt+v');
  assert.equal(await focused(), 'vital-kind');
  await page.getByRole('button', { name: 'New note' }).click();
  await page.getByLabel('Subjective').fill('BP 140');
  await page.getByLabel('Subjective').press('/');
  assert.equal(await page.getByLabel('Subjective').inputValue(), 'BP 140/', 'the slash is typed, not a search');
  await page.keyboard.press('Control+k');
  await page.getByTestId('patient-search').waitFor();
  assert.equal(await focused(), 'patient-search');
  await page.getByRole('navigation').getByRole('button', { name: 'About' }).click();
  assert.equal(await focused(), 'section-title', 'the new section is announced');
  await page.getByRole('heading', { name: 'Keyboard shortcuts' }).waitFor();
  await page.keyboard.press('Control+l');
  await page.getByRole('heading', { name: 'Outpost is locked' }).waitFor();
  assert.deepEqual(errors, []);
  await page.close();
});

test('glucose in mmol/L: typed and shown in the clinic unit, kept by the core in mg/dL', async () => {
  const { page, errors } = await openApp({ state: { ...UNLOCKED, patients: [PATIENT] } });
  await page.getByTestId('nav-about').click();
  await page.getByRole('combobox', { name: 'Blood glucose in' }).selectOption('mmol/L');
  await page.getByTestId('nav-patients').click();
  await page.getByRole('button', { name: 'Mensah, Kofi' }).click();
  const vitals = page.getByRole('region', { name: 'Vitals' });
  await vitals.getByRole('combobox', { name: 'Vital' }).selectOption('glucose');
  assert.equal(await vitals.getByText('mmol/L', { exact: true }).count(), 1, 'the unit beside the field');
  await vitals.getByLabel('Value', { exact: true }).fill('5,5');
  await vitals.getByRole('button', { name: 'Record', exact: true }).click();
  await until(async () => (await page.evaluate(() => window.__FAKE_CORE__.vitals.length)) === 1, 'the glucose is recorded');
  assert.equal(await page.evaluate(() => window.__FAKE_CORE__.vitals[0].value), 99.1, 'kept in mg/dL');
  await vitals.getByText('5.5 mmol/L').first().waitFor();
  assert.deepEqual(errors, []);
  await page.close();
});

test('alerts: a manager sees the badge, reads what raised an alert, acknowledges it with a note, and opens its audit entries; a nurse has no alerts', async () => {
  const NURSE = { id: 'e'.repeat(32), name: 'Nurse Esi', role: 'nurse' };
  const at = Date.now() - 3_600_000;
  const bulk = { id: `bulk_access:${'d'.repeat(32)}:41`, rule: 'bulk_access', urgency: 'high', at, actor: NURSE.id, events: Array.from({ length: 30 }, (_, i) => `${'d'.repeat(32)}:${41 + i}`), count: 30, action: 'chart_read' };
  const backup = { id: `backup_or_export:${'d'.repeat(32)}:9`, rule: 'backup_or_export', urgency: 'info', at: at - 86_400_000, actor: DOCTOR.id, events: [`${'d'.repeat(32)}:9`], count: 1, action: 'backup_created' };
  const state = {
    ...UNLOCKED,
    users: [DOCTOR, NURSE],
    passphrases: { [DOCTOR.id]: 'clinic passphrase', [NURSE.id]: 'nurse passphrase' },
    alerts: [
      { alert: bulk, actor_name: 'Nurse Esi', acknowledged: null },
      { alert: backup, actor_name: 'Dr. Achieng', acknowledged: { by: DOCTOR.id, by_name: 'Dr. Achieng', at: at - 80_000_000, note: 'weekly backup' } },
    ],
  };
  const { page, errors } = await openApp({ state });
  await page.setViewportSize({ width: 1366, height: 768 });
  const badge = page.getByTestId('alert-badge');
  await badge.waitFor();
  assert.equal(await badge.textContent(), '1');
  assert.equal(await badge.getAttribute('aria-label'), '1 alert to look at');
  await page.getByTestId('nav-alerts').click();
  const list = page.getByRole('region', { name: 'Unusual access' });
  const item = list.getByTestId('alert');
  assert.equal(await item.count(), 1, 'acknowledged alerts are hidden until asked for');
  assert.match(await item.textContent(), /Look now.*Many charts opened in a short time.*Nurse Esi.*30 different charts/s);
  assert.deepEqual(await axeViolations(page), []);
  // Acknowledging needs a note.
  const ack = item.getByRole('button', { name: 'Acknowledge' });
  assert.ok(await ack.isDisabled());
  await item.getByLabel('What you found').fill('outreach vaccination list, agreed with the physician');
  await ack.click();
  await list.getByTestId('alerts-empty').waitFor();
  assert.equal(await page.evaluate(() => window.__FAKE_CORE__.alerts[0].acknowledged.note), 'outreach vaccination list, agreed with the physician');
  await until(async () => (await page.getByTestId('alert-badge').count()) === 0, 'the badge goes');
  await list.getByLabel('Show acknowledged').check();
  assert.equal(await list.getByTestId('alert-ack').count(), 2);
  // The clinic's hours: a time that cannot be read is said, not saved as "around the clock".
  await page.getByText('Alert rules for this clinic').click();
  await page.getByLabel('Clinic opens (HH:MM)').fill('7h');
  await page.getByLabel('Clinic closes (HH:MM)').fill('late');
  await page.getByRole('button', { name: 'Save rules' }).click();
  await page.getByText("Write the clinic's hours as HH:MM").waitFor();
  assert.equal(await page.evaluate(() => window.__FAKE_CORE__.alertRules ?? null), null, 'nothing saved');
  await page.getByLabel('Clinic closes (HH:MM)').fill('18:00');
  await page.getByRole('button', { name: 'Save rules' }).click();
  await page.getByText('Rules saved.').waitFor();
  assert.deepEqual(await page.evaluate(() => [window.__FAKE_CORE__.alertRules.opens_at, window.__FAKE_CORE__.alertRules.closes_at]), [420, 1080]);
  // Its audit entries: the audit log opens on the nurse and the day.
  await list.getByRole('button', { name: 'See these entries in the audit log' }).first().click();
  await page.getByRole('heading', { name: 'Audit log' }).waitFor();
  const day = await page.evaluate((ms) => { const d = new Date(ms); return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`; }, at);
  assert.equal(await page.getByLabel('From', { exact: true }).inputValue(), day);
  assert.deepEqual(errors, []);
  await page.close();

  // A nurse is not offered alerts (they may be about her).
  const nurse = await openApp({ state: { ...state, current: NURSE } });
  await nurse.page.getByTestId('nav-patients').waitFor();
  assert.equal(await nurse.page.getByTestId('nav-alerts').count(), 0);
  await nurse.page.close();
});

test('a recovery key copied to the clipboard is cleared from it a minute later', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(baseUrl).origin });
  const page = await context.newPage();
  await page.clock.install();
  await page.addInitScript(installFakeCore, { info: INFO });
  await page.goto(baseUrl);
  await page.getByLabel('Your name').fill('Dr. Achieng');
  await page.getByLabel('Passphrase', { exact: true }).fill('Correct horse battery staple 42!');
  await page.getByLabel('Repeat passphrase').fill('Correct horse battery staple 42!');
  await page.getByRole('button', { name: 'Create profile' }).click();
  const key = page.getByTestId('recovery-key');
  await key.waitFor();
  const text = await key.textContent();
  await key.selectText();
  await page.keyboard.press('Control+c');
  await page.getByText('Copied: the key is cleared from the clipboard in a minute.').waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), text, 'copied as a person copies');
  await page.clock.fastForward(59_000);
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), text, 'still there before the minute is up');
  await page.clock.fastForward(2_000);
  await until(async () => (await page.evaluate(() => navigator.clipboard.readText())) === '', 'the clipboard is emptied');
  await context.close();
});

test('update from file: a verified AppImage is installed on the word; a tampered one is refused in words', async () => {
  const found = { version: '0.2.0', file: 'outpost_0.2.0_amd64.AppImage', installable: true };
  const { page, errors } = await openApp({ state: { ...UNLOCKED, update: { found } } });
  await page.getByTestId('nav-about').click();
  await page.getByRole('button', { name: 'Update from file…' }).click();
  await page.getByTestId('update-found').waitFor();
  assert.match(await page.getByTestId('update-found').textContent(), /Outpost 0\.2\.0 \(outpost_0\.2\.0_amd64\.AppImage\): signed by Outpost/);
  assert.equal(await page.evaluate(() => window.__FAKE_CORE__.updateInstalled ?? false), false, 'nothing installed before the word');
  await page.getByRole('button', { name: 'Install Outpost 0.2.0' }).click();
  await page.getByText('Outpost 0.2.0 is installed: restart Outpost to use it.').waitFor();
  assert.equal(await page.evaluate(() => window.__FAKE_CORE__.updateInstalled), true);
  await page.close();

  const tampered = { kind: 'integrity', code: 'updateTampered', params: {}, message: "the update's signature does not match its contents: it was altered or damaged" };
  const second = await openApp({ state: { ...UNLOCKED, update: { error: tampered } } });
  await second.page.getByTestId('nav-about').click();
  await second.page.getByRole('button', { name: 'Update from file…' }).click();
  const alert = second.page.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.textContent(), /altered or damaged/);
  assert.equal(await second.page.getByRole('button', { name: /^Install/ }).count(), 0);
  assert.deepEqual([...errors, ...second.errors], []);
  await second.page.close();
});

test('online update: a daily check offers a signed release in a banner; its notes are shown and it installs only on the word', async () => {
  const answer = { kind: 'available', version: '0.2.0', notes: 'Growth charts print on one page.\nSync resumes after a dropped 2G link.', pubDate: '2026-11-28T09:00:00Z', installable: true };
  const done = { version: '0.2.0', installed: true, package: null };
  const { page, errors } = await openApp({ state: { ...UNLOCKED, online: { answer, done } } });
  const banner = page.getByTestId('update-banner');
  await banner.waitFor();
  assert.match(await banner.textContent(), /Outpost 0\.2\.0 is available/);
  assert.deepEqual(await page.evaluate(() => window.__FAKE_CORE__.updateChecks), [false], 'one automatic check at start, not a manual one');
  await banner.getByRole('button', { name: "What's new" }).click();
  await page.getByTestId('update-offer').waitFor();
  assert.equal(await page.getByTestId('update-banner').count(), 0, 'the banner gives way to the notes');
  assert.equal(await page.getByTestId('update-notes').textContent(), answer.notes);
  assert.match(await page.getByTestId('update-offer').textContent(), /published Nov 28, 2026/);
  assert.equal(await page.evaluate(() => window.__FAKE_CORE__.onlineInstalled ?? false), false, 'nothing installed before the word');
  // The download is cut off (a 2G link): said, and the offer stays to try again.
  await page.evaluate(() => {
    window.__FAKE_CORE__.failOnce = { install_online_update: { kind: 'busy', code: 'updateUnreachable', params: { detail: 'the download stalled' }, message: 'the update server could not be reached: the download stalled' } };
  });
  await page.getByTestId('update-install-online').click();
  await page.getByRole('alert').filter({ hasText: 'download stalled' }).waitFor();
  assert.equal(await page.evaluate(() => window.__FAKE_CORE__.onlineInstalled ?? false), false);
  await page.getByTestId('update-install-online').click();
  await page.getByText('Outpost 0.2.0 is installed: restart Outpost to use it.').waitFor();
  assert.equal(await page.evaluate(() => window.__FAKE_CORE__.onlineInstalled), true);
  assert.equal(await page.getByTestId('update-offer').count(), 0);
  assert.deepEqual(errors, []);
  await page.close();
});

test('online update: not due means no banner; the button asks now and says up to date, or why the server was not reached', async () => {
  const answer = { kind: 'upToDate', latest: '0.1.0' };
  const { page, errors } = await openApp({ state: { ...UNLOCKED, online: { answer, due: false } } });
  await page.getByTestId('nav-about').click();
  await page.getByTestId('update-check').waitFor();
  assert.equal(await page.getByTestId('update-banner').count(), 0);
  assert.equal(await page.getByTestId('update-none').count(), 0, 'nothing said before the person asks');
  await page.getByTestId('update-check').click();
  await page.getByTestId('update-none').waitFor();
  assert.match(await page.getByTestId('update-none').textContent(), /up to date \(the latest release is 0\.1\.0\)/);
  assert.deepEqual(await page.evaluate(() => window.__FAKE_CORE__.updateChecks), [false, true]);
  // The link is down: said in words, with nothing to install.
  await page.evaluate(() => {
    window.__FAKE_CORE__.online = { error: { kind: 'busy', code: 'updateUnreachable', params: { detail: 'connection refused' }, message: 'the update server could not be reached: connection refused' } };
  });
  await page.getByTestId('update-check').click();
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.textContent(), /could not be reached/);
  assert.equal(await page.getByTestId('update-install-online').count(), 0);
  assert.equal(await page.getByTestId('update-none').count(), 0, 'a failed check does not still say "up to date"');
  // An old list replayed by the server: said as such, never as "up to date".
  await page.evaluate(() => {
    window.__FAKE_CORE__.online = { answer: { kind: 'behind', latest: '0.0.9' } };
  });
  await page.getByTestId('update-check').click();
  await page.getByTestId('update-behind').waitFor();
  assert.match(await page.getByTestId('update-behind').textContent(), /older release \(0\.0\.9\)/);
  assert.equal(await page.getByTestId('update-none').count(), 0);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a weight typed wrong is struck out with a reason: kept in the chart, gone from the banner and the latest readings', async () => {
  const patient = { id: 'c'.repeat(32), given_name: 'Abena', family_name: 'Owusu', birth_date: '1990-02-14', sex: 'female', clinic_id: 'NK-3', contact: null, created_at: 0, updated_at: 0 };
  const { page, errors } = await openApp({ state: { ...UNLOCKED, patients: [patient] } });
  await page.getByText('Owusu').click();
  await page.getByTestId('vital-kind').selectOption('weight');
  await page.getByTestId('vital-value').fill('70');
  await page.getByTestId('vital-save').click();
  await page.getByTestId('vital-weight').filter({ hasText: '70 kg' }).waitFor();
  // The slip: 7 for 70. The banner, where a dose is worked out from, says 7 kg.
  await page.getByTestId('vital-value').fill('7');
  await page.getByTestId('vital-save').click();
  await page.getByTestId('vital-weight').filter({ hasText: '7 kg' }).waitFor();
  assert.match(await page.getByTestId('patient-banner').textContent(), /\b7 kg/);
  await page.getByTestId('vital-in-error-weight').click();
  // Preselected, and a reason is asked for before anything is written.
  assert.match(await page.getByTestId('vital-error-which').locator('option:checked').textContent(), /^Weight 7 kg ·/);
  await page.getByTestId('vital-error-save').click();
  await page.getByRole('alert').filter({ hasText: 'say why' }).waitFor();
  await page.getByTestId('vital-error-reason').fill('typed 7 for 70');
  await page.getByTestId('vital-error-save').click();
  await page.getByTestId('vital-weight').filter({ hasText: '70 kg' }).waitFor();
  assert.match(await page.getByTestId('patient-banner').textContent(), /\b70 kg/);
  const struck = page.getByTestId('vitals-in-error');
  await struck.getByText('Entered in error (1)').click();
  assert.match(await struck.textContent(), /Weight 7 kg.*typed 7 for 70/s);
  assert.equal(await struck.locator('s').textContent(), 'Weight 7 kg');
  const kept = await page.evaluate(() => window.__FAKE_CORE__.vitals.filter((v) => v.kind === 'weight').length);
  assert.equal(kept, 2, 'nothing deleted');
  assert.deepEqual(errors, []);
  await page.close();
});
