// The only module that talks to the backend (Tauri commands).
//
// Every call returns a promise; every failure rejects with {kind, message}, where kind
// is the backend's stable code (wrong_passphrase, invalid, locked …). Argument keys are
// camelCase, as Tauri expects; record fields stay snake_case, as the data model names
// them. Nothing returned from here is ever written to web storage.

let onLocked = () => {};

/** Registers what to do when the backend says the vault is locked (auto-lock, etc.). */
export function whenLocked(handler) {
  onLocked = handler;
}

/** Turns whatever the backend or the bridge rejected with into {kind, message}. */
export function normalizeError(e) {
  if (e && typeof e === 'object' && typeof e.kind === 'string') {
    return { kind: e.kind, message: String(e.message ?? '') };
  }
  if (typeof e === 'string') return { kind: 'unknown', message: e };
  if (e instanceof Error) return { kind: 'unknown', message: e.message };
  return { kind: 'unknown', message: String(e) };
}

async function invoke(command, args = {}) {
  const core = window.__TAURI__?.core;
  if (!core || typeof core.invoke !== 'function') {
    throw { kind: 'no_backend', message: 'the desktop shell is not available' };
  }
  try {
    return await core.invoke(command, args);
  } catch (e) {
    const error = normalizeError(e);
    if (error.kind === 'locked' && command !== 'lock_vault') onLocked(error);
    throw error;
  }
}

// The vault

/** → {exists, unlocked} */
/** The model's shape: `{choices, fields, child_kinds}` (crates/model/src/schema.rs). */
export const schema = () => invoke('schema');

export const vaultStatus = () => invoke('vault_status');

/** → {score 0-4, acceptable, warning, suggestions[]} */
export const passphraseStrength = (passphrase) => invoke('passphrase_strength', { passphrase });

/** Creates the vault and leaves it unlocked. */
export const createVault = (passphrase, confirmation) =>
  invoke('create_vault', { passphrase, confirmation });

/**
 * Unlocks the vault (repeated failures take longer: the backend delays them; after too
 * many, when the settings say so, it wipes the vault: kind wiped_after_failures).
 */
export const unlockVault = (passphrase) => invoke('unlock_vault', { passphrase });

/** → {failures, wipeAfter (null: off), delaySeconds} */
export const unlockState = () => invoke('unlock_state');

/**
 * Locks the vault: the backend drops the key and every decrypted cache. draft (a JSON
 * string of unsaved changes, or null) is first kept sealed in the vault.
 */
export const lockVault = (draft = null) => invoke('lock_vault', { draft });
/** The user is here (keys, pointer): the backend's auto-lock starts over. */
export const userActive = () => invoke('user_active');

/** The unsaved changes kept at the last lock (a JSON string), removed as read; or null. */
export const takeDraft = () => invoke('take_draft');

/** Panic wipe, unlocked or locked. → {keysDestroyedMs, totalMs, files} */
export const wipeVault = () => invoke('wipe_vault');

/** → {action: null | 'decoy' | 'wipe'} for the open vault. */
export const duressStatus = () => invoke('duress_status');

/** Sets the duress passphrase (action: 'decoy' or 'wipe'). → {action} */
export const setDuress = (passphrase, confirmation, action) =>
  invoke('set_duress', { passphrase, confirmation, action });

/** Removes the duress passphrase (and the decoy). → {action: null} */
export const clearDuress = () => invoke('clear_duress');

// Records

/**
 * Lists records. filter: {kind, caseId, status, tag, includeDeleted}, all optional.
 * → [{record_id, kind, title, case_id, status, tags, updated, versions, deleted, conflict}]
 */
export const listRecords = (filter = {}) => invoke('list_records', { filter });

/** → {record_id, version_id, kind, parents, updated, device, deleted, conflict, heads, record} */
export const getRecord = (recordId, versionId) =>
  invoke('get_record', versionId ? { recordId, versionId } : { recordId });

/** Creates (recordId null) or updates a record. → {recordId, versionId} */
export const saveRecord = (recordId, record) =>
  invoke('save_record', { recordId: recordId || null, record });

/** Deletes a record (a tombstone version: its history stays readable). */
export const deleteRecord = (recordId) => invoke('delete_record', { recordId });

/** Every version of a record, oldest first; a damaged one is {error: {kind, message}}. */
export const recordHistory = (recordId) => invoke('record_history', { recordId });

/** The vault key in `shares` printable shares, any `threshold` of which restore it.
 * → [{number, text, size, modules}] (modules: the QR code, row by row, '1' dark). */
export const keyBackup = (threshold, shares) => invoke('key_backup', { threshold, shares });

/** Checks a package the user brought against the release keys built into the app.
 * → {file, sha256, version, update: newer|same|older|unknown, key, key_id, test_key,
 * comment, running, path}; refused: {kind: package_…, message}. */
export const checkPackage = (path) => invoke('check_package', { path });

/** Closes the app (the backend locks the vault first). */
export const quitApp = () => invoke('quit_app');

// Evidence

/** → [{evidence_id, evidence: {file_name, media_type, size, sha256, …}}], newest first. */
export const evidenceList = (caseId) => invoke('evidence_list', { caseId });

/** The system's file chooser. → a path, or null when cancelled. */
export const pickFile = (title) => invoke('evidence_pick_file', { title });

/** The system's save dialog. → a path, or null when cancelled. */
export const pickDestination = (title, suggested) => invoke('evidence_pick_destination', { title, suggested });

/** Imports a file (encrypted, hashed, custody started). → the evidence id. */
export const attachEvidence = (path, caseId, attachedTo, description, derivedFrom) =>
  invoke('evidence_attach', { path, caseId, attachedTo, description, derivedFrom: derivedFrom || null });

/** Deletes the file an item was just imported from (only if unchanged). */
export const deleteOriginal = (evidenceId) => invoke('evidence_delete_original', { evidenceId });

/** Records a view in the custody log. → a token for the evidence: URL. */
export const viewEvidence = (evidenceId) => invoke('evidence_view', { evidenceId });

/**
 * The URL that shows an item's content from memory, for a token from viewEvidence.
 * inFrame: for a PDF shown in a frame (the only evidence URL the app may navigate to).
 */
export function evidenceUrl(token, inFrame = false) {
  const windows = /windows/i.test(navigator.userAgent);
  const path = inFrame ? `frame/${token}` : token;
  return windows ? `http://evidence.localhost/${path}` : `evidence://localhost/${path}`;
}

/** → [{seq, action, at, device, sha256, detail, prev}] */
export const evidenceCustody = (evidenceId) => invoke('evidence_custody', { evidenceId });

/** → {ok, sha256, sha256_now, size, size_now, custody_entries, problems[]} */
export const verifyEvidence = (evidenceId) => invoke('evidence_verify', { evidenceId });

/** → {file, report_json, report_text, sha256, size} */
export const exportEvidence = (evidenceId, path) => invoke('evidence_export', { evidenceId, path });

// Search

/**
 * Full-text search. query: {text, prefix, status, tags, act_type, from, to, location,
 * role, awaiting_response, follow_up_due (YYYY-MM-DD), kinds, limit}, all optional. → {hits: [{record_id, kind, case_id, title,
 * score}], total, ready} (ready false: the index is still being built after unlock).
 */
export const search = (query) => invoke('search', { query });

/**
 * Calls handler({done, total}) while the search index is built after an unlock (counts
 * only, no content).
 */
export function onSearchIndex(handler) {
  return listenTo('search-index', handler);
}

// Follow-up

/**
 * Marks a draft intervention sent: {recordId, date (YYYY-MM-DD), channel, reference,
 * followUp (YYYY-MM-DD or null)}. → {recordId, versionId}
 */
export const markInterventionSent = (request) => invoke('mark_intervention_sent', { request });

/**
 * What needs following up on `today` (YYYY-MM-DD, the user's day). → {due: [{record_id,
 * case_id, case_title, title, mechanism, date, follow_up}], awaiting}
 */
export const followUps = (today) => invoke('follow_ups', { today });

// Exports

/**
 * → the formats this app can export: [{format, folder, single_case, mechanism}] (json,
 * csv, pdf, and a submission to each mechanism: unsr …; mechanism: its code, or null).
 */
export const exportFormats = () => invoke('export_formats');

/**
 * The form of a submission to a mechanism, for one case. → {format, mechanism,
 * questions: [{key, kind: {type: line|text|choice|choices|date, choices}, required}],
 * languages (the first is the default), language (the saved one, or the default),
 * answers: {key: value} (kept in the case's draft intervention), saved (true when a
 * draft holds them)}
 */
export const submissionForm = (caseId, format) => invoke('submission_form', { caseId, format });

/**
 * What a UN Special Rapporteur communication would lack, before it is written.
 * request: {format: 'unsr', caseIds: [one case id], unsr: {kind, submitter, linkToWork,
 * currentRisk, context, perpetratorTypes: {personId: 'state' | 'non_state'}, pdf}}; for
 * another mechanism's submission {format, caseIds, submission: {language, answers:
 * [{key, value}], perpetratorTypes, pdf}}.
 * → {missing: [{element, record_id, record_title, message}]}
 */
export const exportCheck = (request) => invoke('export_check', { request });

/**
 * Writes an export to the path the user chose (never over an existing file; CSV: a new
 * folder). request: {format, caseIds (null: all), path, recipient (age1…, or null: not
 * encrypted), unsr (as for exportCheck), acceptMissing}. → {path, bytes, files,
 * encrypted, withheld}. Progress arrives as export-progress events.
 */
export const exportRun = (request) => invoke('export_run', { request });

/** Calls handler({done, total}) as an export goes. → a promise of the unlisten function. */
export function onExportProgress(handler) {
  return listenTo('export-progress', handler);
}

// Patterns

/**
 * The exact figures of the cases a query selects (the `search` query's shape), with
 * their charts. request: {query, period: 'month' | 'week', threshold (1 or more), lang,
 * width (points)}. → {figures: {cases, incidents, victims, without_publish_consent,
 * timeline, places, act_types, …}, published: false, charts: [{key, svg}]}. Computed on
 * the backend's own thread; nothing is kept.
 */
export const patternsFigures = ({ query, period, threshold, lang, width }) =>
  invoke('patterns_figures', { query, period, threshold, lang, width });

/**
 * Writes the charts of the published figures (counts below threshold as "fewer than
 * N") to the path the user chose: one chart (which: its key) to a new file, or every
 * chart (which: null) into a new folder, as format 'svg' or 'png'; encrypted to
 * recipient (age1…) when given. → {count, files, encrypted}
 */
export const patternsExport = ({ query, period, threshold, lang, which, format, path, recipient }) =>
  invoke('patterns_export', { query, period, threshold, lang, which: which || null, format, path,
    recipient: recipient || null });

// Imports from other tools

/** → [{code, name, choose, folder}]: the tools Custos imports from. */
export const importSources = () => invoke('import_sources');

/**
 * Reads another tool's export whole; writes nothing. request: {source (martus, odk,
 * uwazi, tella), path}. → {units, new: {kind: n}, already, unmapped: [[field, records]],
 * files, file_bytes, problems: [{at, message}]}. Progress as import-progress events.
 */
export const importPreview = (request) => invoke('import_preview', { request });

/** Imports it, all or nothing. → {preview, records, files}. */
export const importRun = (request) => invoke('import_run', { request });

/** Calls handler({phase, done, total}) as a check or an import goes. → the unlisten. */
export function onImportProgress(handler) {
  return listenTo('import-progress', handler);
}

function listenTo(name, handler) {
  const listen = window.__TAURI__?.event?.listen;
  if (typeof listen !== 'function') return Promise.resolve(() => {});
  return listen(name, (event) => handler(event?.payload || {})).catch(() => () => {});
}

// Vocabularies and settings

/** → [{code, parent, label}] with labels in lang. */
export const vocabulary = (name, lang) => invoke('vocabulary', { name, lang });

/** → {language, autoLockMinutes, wipeAfterFailures (null: off)} */
export const getSettings = () => invoke('get_settings');

/** settings: {language, autoLockMinutes, wipeAfterFailures} */
export const setSettings = (settings) => invoke('set_settings', { settings });

// Sync with the organisation's hub

/**
 * → {enrolled, hub, pin, role, device_id, route, paused, interval_minutes, coordinators,
 * pending_coordinators: [{recipient, seen_at, devices}], readers: [{recipient, kind, devices}],
 * last_attempt, last_success, last_error, last_error_kind, pending_versions,
 * pending_blobs, conflicts, running}
 */
export const syncStatus = () => invoke('sync_status');

/**
 * Enrolls the vault with the hub an invite names (route: 'direct' or
 * 'socks5:HOST:PORT'). → the new status. The invite is not kept here.
 */
export const syncEnroll = (invite, label, route) => invoke('sync_enroll', { invite, label, route });

/** Syncs now. → {pushed, existing, pulled, blobs_up, blobs_down, refused, warning, conflicts, …} */
export const syncNow = () => invoke('sync_now');

/** Changes sync settings: {paused?, route?, intervalMinutes?}. → the new status. */
export const syncSet = (changes) => invoke('sync_set', changes);

/**
 * A conflicted record's proposed merge. → {record_id, heads: [record views], base,
 * merged, conflicts: [{field, values: [[version, value]], chosen}], this_device}
 */
export const mergeProposal = (recordId) => invoke('merge_proposal', { recordId });

/** Writes the merge of every head of a conflicted record. → {recordId, versionId} */
/** Resolves concurrent edits: `takes` is `[[field, headVersionId], …]`; the rest as proposed. */
export const resolveRecord = (recordId, takes) => invoke('resolve', { recordId, takes });

/**
 * Confirms (confirm: true) or refuses a coordinator key the hub announced since
 * enrollment. → the new status.
 */
export const coordinatorDecide = (recipient, confirm) => invoke('coordinator_decide', { recipient, confirm });
export const orgConfirm = (words) => invoke('org_confirm', { words });
export const orgPreview = () => invoke('org_preview');
export const orgCreate = (name, signers) => invoke('org_create', { name, signers });

/** Travel mode: removes cases the hub confirms it holds (all when caseIds is null); pauses sync. */
export const travelRemove = (caseIds) => invoke('travel_remove', { caseIds });

/** After travel: resumes sync and brings every removed case back from the hub. */
export const travelRestore = () => invoke('travel_restore');

/**
 * Calls handler whenever the backend says the sync status changed (a sync started or
 * ended, settings changed). No content travels with the event.
 */
export function onSyncChange(handler) {
  const listen = window.__TAURI__?.event?.listen;
  if (typeof listen !== 'function') return;
  listen('sync-status', (event) => handler(event?.payload || {})).catch(() => {});
}

/**
 * Calls handler({reason, locked}) when the desktop asks for a lock (reason: 'suspend'
 * or 'session'). locked false: lock now, keeping unsaved changes; true: the backend
 * already locked (the page was too slow), only forget.
 */
export function onLockRequest(handler) {
  const listen = window.__TAURI__?.event?.listen;
  if (typeof listen !== 'function') return;
  listen('lock-request', (event) => handler(event?.payload || {})).catch(() => {});
}
