// The record model as the UI shows it: kinds, their fields in display order, the
// allowed values of each choice (the model's schema, asked of the app), and how values
// read on screen.

import { h } from './dom.js';
import { t, has, formatDate, formatNumber } from './i18n.js';

/**
 * Allowed values of the model's choice fields, each kind's fields in the order forms and
 * "what changed" lists show them, and the kinds inside a case: the model's own schema
 * (crates/model/src/schema.rs), filled in by `loadSchema` before the first screen.
 */
export const CHOICES = {};
export const FIELDS = {};
export const CHILD_KINDS = [];

/** Asks the app for the model's schema, once, before anything is drawn. */
export async function loadSchema(fetchSchema) {
  const schema = await fetchSchema();
  Object.assign(CHOICES, schema.choices);
  Object.assign(FIELDS, schema.fields);
  CHILD_KINDS.splice(0, CHILD_KINDS.length, ...schema.child_kinds);
}

/** The label of a choice value (statuses depend on the kind). */
export function choiceLabel(choice, value) {
  return value ? t(`choice.${choice}.${value}`) : '';
}

/** A status label for a list row: a case's or an intervention's status. */
export function statusLabel(kind, status) {
  if (!status) return '';
  if (kind === 'case') return choiceLabel('case_status', status);
  if (kind === 'intervention') return choiceLabel('intervention_status', status);
  return status;
}

/** The status badge. */
export function statusBadge(kind, status) {
  if (!status) return null;
  return h('span', { class: ['badge', `status-${status}`], testid: 'status-badge', data: { status },
    text: statusLabel(kind, status) });
}

/** The conflict and deleted markers of a listed record. */
export function markers(item) {
  return [
    item.conflict ? h('span', { class: 'badge marker conflict', testid: 'conflict-marker',
      attrs: { title: t('marker.conflict.title') }, text: t('marker.conflict') }) : null,
    item.deleted ? h('span', { class: 'badge marker deleted', testid: 'deleted-marker', text: t('marker.deleted') }) : null,
  ];
}

/** A record's list line (its title, or a placeholder when it has none). */
export function titleOf(record) {
  if (!record) return '';
  switch (record.kind) {
    case 'person':
      return record.name || '';
    case 'note':
      return String(record.text || '').split('\n')[0];
    default:
      return record.title || '';
  }
}

/** The value at a dotted path ("location.place") of a record, or undefined. */
export function valueAt(record, path) {
  return path.split('.').reduce((v, k) => (v && typeof v === 'object' ? v[k] : undefined), record);
}

/** True for "nothing there": null, undefined, '', [] and objects of nothing. */
export function isEmpty(v) {
  if (v === null || v === undefined || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.values(v).every(isEmpty);
  return false;
}

/** The label of a field path for this kind. */
export function fieldLabel(kind, path) {
  const specific = `field.${kind}.${path}`;
  return has(specific) ? t(specific) : t(`field.${path}`);
}

/**
 * A field's value as text. lookups: {act_types: Map, mechanisms: Map, records: Map}
 * from codes and ids to labels and titles.
 */
export function formatValue(kind, path, value, lookups = {}) {
  if (isEmpty(value)) return t('value.empty');
  const leaf = path.split('.').pop();
  const label = (map, code) => map?.get(code) || code;
  switch (leaf) {
    case 'status':
      return kind === 'case' ? choiceLabel('case_status', value) : choiceLabel('intervention_status', value);
    case 'confidentiality':
      return choiceLabel('confidentiality', value);
    case 'precision':
      return choiceLabel('precision', value);
    case 'type':
      return choiceLabel('intervention_type', value);
    case 'share_with_government':
    case 'publish':
      return choiceLabel('consent', value);
    case 'roles':
      return value.map((r) => choiceLabel('role', r)).join(', ');
    case 'act_types':
      return value.map((c) => label(lookups.act_types, c)).join(', ');
    case 'mechanism':
      return label(lookups.mechanisms, value);
    case 'persons':
      return value.map((p) => `${label(lookups.records, p.person_id)} (${choiceLabel('role', p.role)})`).join(', ');
    case 'case_id':
      return label(lookups.records, value);
    case 'related':
    case 'incident_ids':
    case 'person_ids':
    case 'about':
      return value.map((id) => label(lookups.records, id)).join(', ');
    case 'is_group':
      return value ? t('value.yes') : t('value.no');
    case 'date':
      return typeof value === 'string' ? formatDate(value) : String(value);
    case 'group_size':
    case 'lat':
    case 'lon':
      return typeof value === 'number' ? formatNumber(value) : String(value);
    default:
      if (Array.isArray(value)) return value.join(', ');
      if (typeof value === 'object') return JSON.stringify(value);
      return String(value);
  }
}

/**
 * What changed between two record contents: [{path, before, after}] in the kind's
 * field order, empty-equivalent values ('' vs absent) counted as equal.
 */
export function diffRecords(kind, before, after) {
  const paths = new Set(FIELDS[kind] || []);
  // Objects the form splits into parts (start → start.date, start.precision).
  const split = new Set([...paths].filter((p) => p.includes('.')).map((p) => p.split('.')[0]));
  const collect = (obj, prefix = '') => {
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return;
    for (const [k, v] of Object.entries(obj)) {
      if (!prefix && k === 'kind') continue;
      const p = prefix ? `${prefix}.${k}` : k;
      if (v && typeof v === 'object' && !Array.isArray(v)) collect(v, p);
      else if (!split.has(p)) paths.add(p);
    }
  };
  collect(before);
  collect(after);
  const changes = [];
  for (const path of paths) {
    const a = valueAt(before, path);
    const b = valueAt(after, path);
    if (isEmpty(a) && isEmpty(b)) continue;
    if (JSON.stringify(a) !== JSON.stringify(b)) changes.push({ path, before: a, after: b });
  }
  return changes;
}
