// One form per record kind (case, incident, person, intervention, note).
//
// Ids follow "<kind>-<field>" (#case-title, #incident-date, #person-consent-publish …),
// buttons "<kind>-save" / "<kind>-cancel", form errors "<kind>-error". Field errors are
// "field-error-<field>" for a case (#field-error-title) and "field-error-<kind>-<field>"
// for the others (#field-error-incident-title).
//
// An edit starts from the stored record and changes only what the form shows, so
// fields the form does not show (an incident's end date, a person's birth date …) are
// kept as they were. Only the model's fields are sent: the backend refuses others.

import * as api from './api.js';
import { h } from './dom.js';
import { t, fold } from './i18n.js';
import {
  textField, selectField, checkboxField, checkboxGroup, FieldErrors, formError,
  snapshot, splitList, normalizeDate as typedDate, isDate, formValues, applyValues,
} from './fields.js';
import { CHOICES, FIELDS, choiceLabel } from './records.js';
import { markSentDialog, channelOptions, languageName } from './followup.js';

const choices = (choice) => CHOICES[choice].map((v) => ({ value: v, label: choiceLabel(choice, v) }));

/** The mechanisms a person consents to be named to, as the model's schema lists them. */
const MECHANISM_CONSENTS = () => (FIELDS.person || [])
  .filter((f) => f.startsWith('consent.') && !['consent.share_with_government', 'consent.publish'].includes(f))
  .map((f) => f.slice('consent.'.length));

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

/**
 * Links to other records of the case, as checkboxes: one per record of the kinds
 * given. A stored link to a record that is no longer listed (deleted) stays checked,
 * marked as such, so nothing is dropped without the user seeing it.
 */
function linkGroup({ id, key, legend, hint, links, kinds, values = [], empty }) {
  const shown = links.filter((r) => kinds.includes(r.kind));
  const known = new Set(shown.map((r) => r.record_id));
  const options = [
    ...shown.map((r) => ({ value: r.record_id, label: r.title || t('value.untitled') })),
    ...values.filter((v) => !known.has(v)).map((v) => ({ value: v, label: t('link.missing') })),
  ];
  const group = checkboxGroup({ id, key, legend, hint, options, values, idPrefix: id, testidPrefix: `${id}` });
  if (!options.length) group.wrap.querySelector('.checks').append(h('p', { class: 'muted', text: empty }));
  return group;
}

/**
 * Who took part in an incident, and how: one row per person of the case, one checkbox
 * per role (a person can be a victim and a witness of the same incident).
 * → {wrap, error, values()} with values() the incident's `persons` list.
 */
function involvementField({ id, key, links, values = [] }) {
  const persons = links.filter((r) => r.kind === 'person');
  const known = new Set(persons.map((p) => p.record_id));
  const missing = [...new Set(values.map((v) => v.person_id).filter((pid) => !known.has(pid)))];
  const rows = [...persons.map((p) => ({ id: p.record_id, name: p.title || t('value.untitled') })),
    ...missing.map((pid) => ({ id: pid, name: t('link.missing') }))];
  const chosen = new Set(values.map((v) => `${v.person_id}:${v.role}`));
  const error = h('p', { id: `field-error-${key}`, class: 'field-error', testid: 'field-error', hidden: true, attrs: { 'aria-live': 'polite' } });
  const boxes = [];
  const table = h('table', { class: 'involvement' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: t('field.person') }),
      CHOICES.role.map((role) => h('th', { scope: 'col', text: choiceLabel('role', role) })))),
    h('tbody', {}, rows.map((p) => h('tr', { testid: 'involvement-row', data: { personId: p.id } },
      h('th', { scope: 'row' }, h('bdi', { text: p.name })),
      CHOICES.role.map((role) => {
        const input = h('input', { type: 'checkbox', id: `${id}-${p.id}-${role}`, testid: `involvement-${role}`,
          checked: chosen.has(`${p.id}:${role}`), data: { personId: p.id, role },
          attrs: { 'aria-label': t('field.involvement.cell', { name: p.name, role: choiceLabel('role', role) }) } });
        boxes.push(input);
        return h('td', {}, input);
      })))));
  const wrap = h('fieldset', { id, class: ['field', 'involvement-field'], attrs: { 'aria-describedby': error.id } },
    h('legend', { text: t('field.persons') }),
    rows.length ? h('p', { class: 'field-hint', text: t('field.persons.hint') }) : null,
    rows.length ? h('div', { class: 'table-scroll' }, table) : h('p', { class: 'muted', text: t('field.persons.none') }),
    error);
  return {
    wrap,
    error,
    values: () => boxes.filter((b) => b.checked).map((b) => ({ person_id: b.dataset.personId, role: b.dataset.role })),
  };
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
    build({ record, id, key, vocab, links, recordId }) {
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
      const persons = involvementField({ id: id('persons'), key: key('persons'), links, values: record.persons || [] });
      const related = linkGroup({ id: id('related'), key: key('related'), legend: t('field.related'), hint: t('field.related.hint'),
        links: links.filter((r) => r.record_id !== recordId), kinds: ['incident'], values: record.related || [], empty: t('field.related.none') });
      return {
        parts: [title.wrap, description.wrap, h('div', { class: 'form-grid' }, date.wrap, precision.wrap),
          h('div', { class: 'form-grid' }, place.wrap, country.wrap), acts.wrap, persons.wrap, related.wrap, impact.wrap],
        fields: { title, description, start: date, 'start.precision': precision, location: place, 'location.country': country, act_types: acts,
          persons, related, impact },
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
            persons: persons.values(),
            related: related.values(),
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
      // One consent per protection mechanism a submission can go to (the model's
      // `consent.<mechanism>` fields, in the schema's order).
      const perUse = MECHANISM_CONSENTS().map((code) => [code, selectField({ id: id(`consent-${code.replace(/_/g, '-')}`),
        key: key(`consent-${code}`), label: t(`field.consent.${code}`), options: choices('consent'),
        value: consent[code] || 'not_asked' })]);
      const contact = textField({ id: id('contact'), key: key('contact'), label: t('field.contact'), value: record.contact,
        multiline: true, rows: 2, hint: t('field.contact.hint') });
      const consentBox = h('fieldset', { class: 'field consent', id: id('consent') },
        h('legend', { text: t('field.consent') }),
        h('p', { class: 'field-hint', text: t('field.consent.hint') }),
        h('div', { class: 'form-grid' }, government.wrap, publish.wrap),
        perUse.length ? h('fieldset', { class: 'field consent-uses', id: id('consent-uses') },
          h('legend', { text: t('field.consent.uses') }),
          h('p', { class: 'field-hint', text: t('field.consent.uses.hint') }),
          h('div', { class: 'form-grid' }, perUse.map(([, f]) => f.wrap))) : null);
      return {
        parts: [name.wrap, roles.wrap, h('div', { class: 'form-grid' }, isGroup.wrap, groupSize.wrap),
          h('div', { class: 'form-grid' }, sex.wrap, occupation.wrap), organisation.wrap, hrWork.wrap, consentBox, contact.wrap],
        fields: { name, roles, is_group: isGroup, group_size: groupSize, sex, occupation, organisation, human_rights_work: hrWork,
          'consent.share_with_government': government, 'consent.publish': publish,
          ...Object.fromEntries(perUse.map(([code, f]) => [`consent.${code}`, f])), contact },
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
            consent: { ...consent, share_with_government: government.input.value, publish: publish.input.value,
              ...Object.fromEntries(perUse.map(([code, f]) => [code, f.input.value])) },
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
    build({ record, id, key, vocab, links }) {
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
      const channel = selectField({ id: id('channel'), key: key('channel'), label: t('field.channel'),
        options: channelOptions(record.channel || ''), value: record.channel || '' });
      const followUp = textField({ id: id('follow-up'), key: key('follow_up'), label: t('field.follow_up'), type: 'date',
        value: record.follow_up || '', hint: t('field.follow_up.hint') });
      // The language a prepared submission is written in: shown, not edited (the export
      // dialog chooses it). The form's answers belong to the export dialog too.
      const language = record.language
        ? h('p', { id: id('language'), class: 'field read-only', data: { language: record.language } },
          h('span', { class: 'field-label', text: t('field.language') }), ' ',
          h('span', { text: languageName(record.language) }))
        : null;
      const response = textField({ id: id('response'), key: key('response'), label: t('field.response'), value: record.response, multiline: true, rows: 3 });
      const incidents = linkGroup({ id: id('incidents'), key: key('incident_ids'), legend: t('field.incident_ids'),
        links, kinds: ['incident'], values: record.incident_ids || [], empty: t('field.incident_ids.none') });
      const persons = linkGroup({ id: id('persons'), key: key('person_ids'), legend: t('field.person_ids'),
        links, kinds: ['person'], values: record.person_ids || [], empty: t('field.persons.none') });
      return {
        parts: [title.wrap, mechanism.wrap, h('div', { class: 'form-grid' }, type.wrap, status.wrap),
          h('div', { class: 'form-grid' }, date.wrap, reference.wrap), h('div', { class: 'form-grid' }, channel.wrap, followUp.wrap),
          language, h('div', { class: 'form-grid' }, incidents.wrap, persons.wrap),
          response.wrap],
        fields: { title, mechanism, type, status, date, reference, channel, follow_up: followUp,
          incident_ids: incidents, person_ids: persons, response },
        collect: () => ({
          title: title.input.value.trim(),
          mechanism: mechanism.input.value,
          type: type.input.value,
          status: status.input.value,
          date: typedDate(date.input.value) || null,
          reference: reference.input.value.trim(),
          channel: channel.input.value,
          follow_up: typedDate(followUp.input.value) || null,
          incident_ids: incidents.values(),
          person_ids: persons.values(),
          response: response.input.value,
        }),
        check: (r) => {
          if (r.date && !isDate(r.date)) return ['date', t('error.date_format')];
          if (r.follow_up && !isDate(r.follow_up)) return ['follow_up', t('error.date_format')];
          return null;
        },
        required: { title },
      };
    },
  },

  note: {
    build({ record, id, key, links }) {
      const text = textField({ id: id('text'), key: key('text'), label: t('field.text'), value: record.text, multiline: true, rows: 6, required: true });
      const about = linkGroup({ id: id('about'), key: key('about'), legend: t('field.about'), hint: t('field.about.hint'),
        links, kinds: ['incident', 'person', 'intervention'], values: record.about || [], empty: t('field.about.none') });
      return {
        parts: [text.wrap, about.wrap],
        fields: { text, about },
        collect: () => ({ text: text.input.value, about: about.values() }),
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
        reference: '', response: '', incident_ids: [], person_ids: [], channel: '', follow_up: null, language: '', form: [] };
    case 'note':
      return { kind, case_id: caseId, text: '', about: [] };
    default:
      throw new Error(`unknown kind ${kind}`);
  }
}

/**
 * A record form. options: {kind, caseId, recordId, record (the stored content, for an
 * edit), links (list lines of the case's records, to link to), onSaved({recordId,
 * versionId, created}), onCancel, heading}.
 * → {el, isDirty(), values(), restore(values), focus, destroy()}
 */
export async function recordEditor(app, { kind, caseId = null, recordId = null, record = null, links = [], onSaved, onCancel, heading, saveLabel }) {
  const spec = KINDS[kind];
  const vocab = {};
  for (const name of spec.vocabularies || []) vocab[name] = await app.vocabulary(name);
  const base = { ...blank(kind, caseId), ...(record || {}), kind };
  const id = (field) => `${kind}-${field}`;
  const key = (field) => (kind === 'case' ? field : `${kind}-${field}`);
  const built = spec.build({ record: base, id, key, vocab, links, recordId });

  const error = formError(id('error'));
  const errors = new FieldErrors(error);
  for (const [path, f] of Object.entries(built.fields)) errors.add(path, f.error, f.wrap.matches('fieldset') ? f.wrap : f.input);

  const save = h('button', { type: 'submit', id: id('save'), class: 'button primary', text: saveLabel || t('action.save') });
  const cancel = onCancel
    ? h('button', { type: 'button', id: id('cancel'), class: 'button secondary', text: t('action.cancel') })
    : null;
  // A draft intervention, once sent: its date, channel, reference and next follow-up, in
  // a small dialog (a new version, written by the backend).
  const markSent = kind === 'intervention' && recordId && base.status === 'draft'
    ? h('button', { type: 'button', id: id('mark-sent'), class: 'button secondary', text: t('followup.mark_sent') })
    : null;
  const form = h('form', { id: id('form'), class: ['form', 'record-form', `form-${kind}`],
    data: { recordId: recordId || '' }, attrs: { autocomplete: 'off', novalidate: true, 'aria-labelledby': heading ? id('form-title') : null } },
  heading ? h('h3', { id: id('form-title'), class: 'form-title', text: heading }) : null,
  h('p', { class: 'field-hint required-note', text: t('form.required_note') }),
  built.parts, error,
  h('div', { class: 'actions' }, save, markSent, cancel));

  let saved = snapshot(form);
  let busy = false;

  cancel?.addEventListener('click', () => onCancel());
  markSent?.addEventListener('click', async () => {
    if (busy) return;
    if (snapshot(form) !== saved) {
      const leave = await app.confirm(t('followup.mark_sent.unsaved'), {
        title: t('confirm.leave.title'), confirmLabel: t('action.discard'), cancelLabel: t('action.keep_editing'), danger: true,
      });
      if (!leave) return;
    }
    const result = await markSentDialog({ recordId, record: base });
    if (!result) return;
    saved = snapshot(form);
    await onSaved?.({ ...result, created: false });
  });

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
    /** The form's values, to keep across a lock (see app.js, drafts). */
    values: () => formValues(form),
    /** Puts kept values back; the form stays unsaved until the user saves it. */
    restore: (values) => applyValues(form, values),
    destroy() {
      form.reset();
    },
  };
}
