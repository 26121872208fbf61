// One form per record kind (case, incident, person, intervention, note).
//
// Ids follow "<kind>-<field>" (#case-title, #incident-date, #person-consent-publish …),
// buttons "<kind>-save" / "<kind>-cancel", form errors "<kind>-error". Field errors are
// "field-error-<field>" for a case (#field-error-title) and "field-error-<kind>-<field>"
// for the others (#field-error-incident-title).
//
// An edit starts from the stored record and changes only what the form shows, so
// fields the form does not show (an incident's persons, a person's birth date …) are
// kept as they were. Only the model's fields are sent: the backend refuses others.

import * as api from './api.js';
import { h } from './dom.js';
import { t, fold } from './i18n.js';
import {
  textField, selectField, checkboxField, checkboxGroup, FieldErrors, formError,
  snapshot, splitList, normalizeDate as typedDate, isDate,
} from './fields.js';
import { CHOICES, choiceLabel } from './records.js';

const choices = (choice) => CHOICES[choice].map((v) => ({ value: v, label: choiceLabel(choice, v) }));

/** A date normalized to its precision: month → the 1st, year → 1 January. */
function toPrecision(date, precision) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return date;
  if (precision === 'month') return `${date.slice(0, 7)}-01`;
  if (precision === 'year') return `${date.slice(0, 4)}-01-01`;
  return date;
}

function fuzzyDate(date, precision) {
  const d = typedDate(date);
  return d ? { date: toPrecision(d, precision), precision } : null;
}

/** Field builders for each kind: build(ctx) → {parts, collect(), check()}. */
const KINDS = {
  case: {
    build({ record, id, key }) {
      const title = textField({ id: id('title'), key: key('title'), label: t('field.title'), value: record.title, required: true, maxlength: 500 });
      const summary = textField({ id: id('summary'), key: key('summary'), label: t('field.summary'), value: record.summary, multiline: true, rows: 5 });
      const status = selectField({ id: id('status'), key: key('status'), label: t('field.status'), options: choices('case_status'), value: record.status || 'open' });
      const confidentiality = selectField({ id: id('confidentiality'), key: key('confidentiality'), label: t('field.confidentiality'),
        options: choices('confidentiality'), value: record.confidentiality || 'restricted', hint: t('field.confidentiality.hint') });
      const tags = textField({ id: id('tags'), key: key('tags'), label: t('field.tags'), value: (record.tags || []).join(', '), hint: t('field.tags.hint') });
      const owner = textField({ id: id('owner'), key: key('owner'), label: t('field.owner'), value: record.owner, hint: t('field.owner.hint') });
      return {
        parts: [title.wrap, summary.wrap, h('div', { class: 'form-grid' }, status.wrap, confidentiality.wrap), tags.wrap, owner.wrap],
        fields: { title, summary, status, confidentiality, tags, owner },
        collect: () => ({
          title: title.input.value.trim(),
          summary: summary.input.value,
          status: status.input.value,
          confidentiality: confidentiality.input.value,
          tags: splitList(tags.input.value),
          owner: owner.input.value.trim(),
        }),
        required: { title },
      };
    },
  },

  incident: {
    vocabularies: ['act_types'],
    build({ record, id, key, vocab }) {
      const start = record.start || null;
      const location = record.location || {};
      const title = textField({ id: id('title'), key: key('title'), label: t('field.title'), value: record.title, required: true, maxlength: 500 });
      const description = textField({ id: id('description'), key: key('description'), label: t('field.description'), value: record.description, multiline: true, rows: 5 });
      const date = textField({ id: id('date'), key: key('start'), label: t('field.incident.date'), type: 'date', value: start?.date || '' });
      const precision = selectField({ id: id('precision'), key: key('start-precision'), label: t('field.start.precision'),
        options: choices('precision'), value: start?.precision || 'day' });
      const place = textField({ id: id('place'), key: key('location'), label: t('field.location.place'), value: location.place || '' });
      const country = textField({ id: id('country'), key: key('country'), label: t('field.location.country'), value: location.country || '',
        hint: t('field.location.country.hint'), maxlength: 100 });
      const acts = checkboxGroup({ id: id('act-types'), key: key('act_types'), legend: t('field.act_types'),
        options: vocab.act_types.map((term) => ({ value: term.code, label: term.label, depth: term.depth })),
        values: record.act_types || [], idPrefix: id('act'), testidPrefix: 'act-type', scroll: true });
      const filter = h('input', { id: id('act-filter'), type: 'search', class: 'checks-filter',
        attrs: { autocomplete: 'off', 'aria-label': t('field.act_types.filter'), placeholder: t('field.act_types.filter') } });
      filter.addEventListener('input', () => {
        const q = fold(filter.value.trim());
        for (const input of acts.inputs) {
          const row = input.closest('.check');
          row.hidden = Boolean(q) && !fold(row.textContent).includes(q) && !input.checked;
        }
      });
      acts.wrap.querySelector('legend').after(filter);
      const impact = textField({ id: id('impact'), key: key('impact'), label: t('field.impact'), value: record.impact, multiline: true, rows: 3 });
      return {
        parts: [title.wrap, description.wrap, h('div', { class: 'form-grid' }, date.wrap, precision.wrap),
          h('div', { class: 'form-grid' }, place.wrap, country.wrap), acts.wrap, impact.wrap],
        fields: { title, description, start: date, 'start.precision': precision, location: place, 'location.country': country, act_types: acts, impact },
        collect: () => {
          const loc = { place: '', region: '', country: '', lat: null, lon: null, ...location,
            place: place.input.value.trim(), country: country.input.value.trim() };
          const hasLocation = loc.place || loc.region || loc.country || loc.lat !== null || loc.lon !== null;
          return {
            title: title.input.value.trim(),
            description: description.input.value,
            start: fuzzyDate(date.input.value, precision.input.value),
            location: hasLocation ? loc : null,
            act_types: acts.values(),
            impact: impact.input.value,
          };
        },
        check: (r) => (r.start && !isDate(r.start.date) ? ['start', t('error.date_format')] : null),
        required: { title },
      };
    },
  },

  person: {
    build({ record, id, key }) {
      const consent = record.consent || {};
      const name = textField({ id: id('name'), key: key('name'), label: t('field.name'), value: record.name, required: true, hint: t('field.name.hint') });
      const roles = checkboxGroup({ id: id('roles'), key: key('roles'), legend: t('field.roles'),
        options: choices('role'), values: record.roles || [], idPrefix: id('role'), testidPrefix: 'person-role' });
      const isGroup = checkboxField({ id: id('is-group'), key: key('is_group'), label: t('field.is_group'), checked: record.is_group });
      const groupSize = textField({ id: id('group-size'), key: key('group_size'), label: t('field.group_size'), type: 'number',
        value: record.group_size ?? '', inputmode: 'numeric' });
      groupSize.input.min = '1';
      groupSize.input.step = '1';
      const syncGroup = () => {
        groupSize.wrap.hidden = !isGroup.input.checked;
      };
      isGroup.input.addEventListener('change', syncGroup);
      syncGroup();
      const sex = textField({ id: id('sex'), key: key('sex'), label: t('field.sex'), value: record.sex, hint: t('field.sex.hint') });
      const occupation = textField({ id: id('occupation'), key: key('occupation'), label: t('field.occupation'), value: record.occupation });
      const organisation = textField({ id: id('organisation'), key: key('organisation'), label: t('field.organisation'), value: record.organisation });
      const hrWork = textField({ id: id('human-rights-work'), key: key('human_rights_work'), label: t('field.human_rights_work'),
        value: record.human_rights_work, multiline: true, rows: 3 });
      const government = selectField({ id: id('consent-government'), key: key('consent-government'), label: t('field.consent.share_with_government'),
        options: choices('consent'), value: consent.share_with_government || 'not_asked' });
      const publish = selectField({ id: id('consent-publish'), key: key('consent-publish'), label: t('field.consent.publish'),
        options: choices('consent'), value: consent.publish || 'not_asked' });
      const contact = textField({ id: id('contact'), key: key('contact'), label: t('field.contact'), value: record.contact,
        multiline: true, rows: 2, hint: t('field.contact.hint') });
      const consentBox = h('fieldset', { class: 'field consent' },
        h('legend', { text: t('field.consent') }),
        h('p', { class: 'field-hint', text: t('field.consent.hint') }),
        h('div', { class: 'form-grid' }, government.wrap, publish.wrap));
      return {
        parts: [name.wrap, roles.wrap, h('div', { class: 'form-grid' }, isGroup.wrap, groupSize.wrap),
          h('div', { class: 'form-grid' }, sex.wrap, occupation.wrap), organisation.wrap, hrWork.wrap, consentBox, contact.wrap],
        fields: { name, roles, is_group: isGroup, group_size: groupSize, sex, occupation, organisation, human_rights_work: hrWork,
          'consent.share_with_government': government, 'consent.publish': publish, contact },
        collect: () => {
          const group = isGroup.input.checked;
          const size = groupSize.input.value.trim();
          return {
            name: name.input.value.trim(),
            roles: roles.values(),
            is_group: group,
            group_size: group && size ? Number(size) : null,
            sex: sex.input.value.trim(),
            occupation: occupation.input.value.trim(),
            organisation: organisation.input.value.trim(),
            human_rights_work: hrWork.input.value,
            consent: { ...consent, share_with_government: government.input.value, publish: publish.input.value },
            contact: contact.input.value,
          };
        },
        check: (r) => (r.group_size !== null && !(Number.isInteger(r.group_size) && r.group_size > 0 && r.group_size < 2 ** 32)
          ? ['group_size', t('error.group_size')] : null),
        required: { name },
      };
    },
  },

  intervention: {
    vocabularies: ['mechanisms'],
    build({ record, id, key, vocab }) {
      const title = textField({ id: id('title'), key: key('title'), label: t('field.title'), value: record.title, required: true, maxlength: 500 });
      const mechanism = selectField({ id: id('mechanism'), key: key('mechanism'), label: t('field.mechanism'),
        options: [{ value: '', label: t('value.not_set') },
          ...vocab.mechanisms.map((term) => ({ value: term.code, label: term.label, depth: term.depth }))],
        value: record.mechanism || '' });
      const type = selectField({ id: id('type'), key: key('type'), label: t('field.type'), options: choices('intervention_type'),
        value: record.type || 'other', hint: t('field.type.hint') });
      const status = selectField({ id: id('status'), key: key('status'), label: t('field.status'),
        options: choices('intervention_status'), value: record.status || 'draft' });
      const date = textField({ id: id('date'), key: key('date'), label: t('field.intervention.date'), type: 'date', value: record.date || '' });
      const reference = textField({ id: id('reference'), key: key('reference'), label: t('field.reference'), value: record.reference });
      const response = textField({ id: id('response'), key: key('response'), label: t('field.response'), value: record.response, multiline: true, rows: 3 });
      return {
        parts: [title.wrap, mechanism.wrap, h('div', { class: 'form-grid' }, type.wrap, status.wrap),
          h('div', { class: 'form-grid' }, date.wrap, reference.wrap), response.wrap],
        fields: { title, mechanism, type, status, date, reference, response },
        collect: () => ({
          title: title.input.value.trim(),
          mechanism: mechanism.input.value,
          type: type.input.value,
          status: status.input.value,
          date: typedDate(date.input.value) || null,
          reference: reference.input.value.trim(),
          response: response.input.value,
        }),
        check: (r) => (r.date && !isDate(r.date) ? ['date', t('error.date_format')] : null),
        required: { title },
      };
    },
  },

  note: {
    build({ record, id, key }) {
      const text = textField({ id: id('text'), key: key('text'), label: t('field.text'), value: record.text, multiline: true, rows: 6, required: true });
      return {
        parts: [text.wrap],
        fields: { text },
        collect: () => ({ text: text.input.value }),
        required: { text },
      };
    },
  },
};

/** The kind's empty record, as the form starts it. */
function blank(kind, caseId) {
  switch (kind) {
    case 'case':
      return { kind, title: '', summary: '', status: 'open', tags: [], confidentiality: 'restricted', owner: '' };
    case 'incident':
      return { kind, case_id: caseId, title: '', description: '', start: null, end: null, location: null,
        act_types: [], persons: [], related: [], impact: '' };
    case 'person':
      return { kind, case_id: caseId, name: '', other_names: [], roles: [], is_group: false, group_size: null,
        sex: '', birth_date: null, occupation: '', organisation: '', human_rights_work: '', residence: '',
        citizenship: '', consent: { share_with_government: 'not_asked', publish: 'not_asked' }, contact: '' };
    case 'intervention':
      return { kind, case_id: caseId, title: '', mechanism: '', type: 'other', date: null, status: 'draft',
        reference: '', response: '', incident_ids: [], person_ids: [] };
    case 'note':
      return { kind, case_id: caseId, text: '', about: [] };
    default:
      throw new Error(`unknown kind ${kind}`);
  }
}

/**
 * A record form. options: {kind, caseId, recordId, record (the stored content, for an
 * edit), onSaved({recordId, versionId, created}), onCancel, heading}.
 * → {el, isDirty(), focus, destroy()}
 */
export async function recordEditor(app, { kind, caseId = null, recordId = null, record = null, onSaved, onCancel, heading, saveLabel }) {
  const spec = KINDS[kind];
  const vocab = {};
  for (const name of spec.vocabularies || []) vocab[name] = await app.vocabulary(name);
  const base = { ...blank(kind, caseId), ...(record || {}), kind };
  const id = (field) => `${kind}-${field}`;
  const key = (field) => (kind === 'case' ? field : `${kind}-${field}`);
  const built = spec.build({ record: base, id, key, vocab });

  const error = formError(id('error'));
  const errors = new FieldErrors(error);
  for (const [path, f] of Object.entries(built.fields)) errors.add(path, f.error, f.wrap.matches('fieldset') ? f.wrap : f.input);

  const save = h('button', { type: 'submit', id: id('save'), class: 'button primary', text: saveLabel || t('action.save') });
  const cancel = onCancel
    ? h('button', { type: 'button', id: id('cancel'), class: 'button secondary', text: t('action.cancel') })
    : null;
  const form = h('form', { id: id('form'), class: ['form', 'record-form', `form-${kind}`],
    data: { recordId: recordId || '' }, attrs: { autocomplete: 'off', novalidate: true, 'aria-labelledby': heading ? id('form-title') : null } },
  heading ? h('h3', { id: id('form-title'), class: 'form-title', text: heading }) : null,
  h('p', { class: 'field-hint required-note', text: t('form.required_note') }),
  built.parts, error,
  h('div', { class: 'actions' }, save, cancel));

  let saved = snapshot(form);
  let busy = false;

  cancel?.addEventListener('click', () => onCancel());

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (busy) return;
    errors.clear();
    const content = { ...base, ...built.collect(), kind };
    for (const path of Object.keys(built.required || {})) {
      const v = content[path];
      if (!String(v ?? '').trim()) {
        errors.set(path, t('error.required'));
        return;
      }
    }
    const problem = built.check?.(content);
    if (problem) {
      errors.set(problem[0], problem[1]);
      return;
    }
    busy = true;
    save.disabled = true;
    save.textContent = t('action.saving');
    form.setAttribute('aria-busy', 'true');
    try {
      const result = await api.saveRecord(recordId, content);
      saved = snapshot(form);
      busy = false;
      await onSaved?.({ ...result, created: !recordId });
    } catch (err) {
      busy = false;
      errors.show(err);
    } finally {
      if (form.isConnected) {
        save.disabled = false;
        save.textContent = saveLabel || t('action.save');
        form.removeAttribute('aria-busy');
      }
    }
  });

  return {
    el: form,
    focus: Object.values(built.fields)[0]?.input,
    isDirty: () => form.isConnected && snapshot(form) !== saved,
    markSaved: () => {
      saved = snapshot(form);
    },
    destroy() {
      form.reset();
    },
  };
}
