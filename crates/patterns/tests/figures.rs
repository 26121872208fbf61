//! The figures of a selection: a hand-built fixture with hand-stated counts, a generated
//! fixture checked against counts computed another way, date precisions, no names,
//! published figures, labels.

use chrono::NaiveDate;
use custos_model::{
    Case, Consent, Consents, FormField, FuzzyDate, Incident, Intervention, InterventionStatus,
    InterventionType, Involvement, Location, Note, Person, Precision, Record, Role,
};
use custos_patterns::figures::{compute_with_ids, sex_of, Bin, Coarse, Mechanism, Point, Region};
use custos_patterns::labels::{locale_source, KEYS};
use custos_patterns::{compute, Count, Figures, Labels, Options, Period, Shown};
use uuid::Uuid;

// ----- building records -----

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a valid test date")
}

fn fuzzy(date: NaiveDate, precision: Precision) -> Option<FuzzyDate> {
    Some(FuzzyDate { date, precision })
}

fn case(title: &str) -> Record {
    Record::Case(Case {
        title: title.into(),
        ..Case::default()
    })
}

fn place(country: &str, region: &str, lat: Option<f64>, lon: Option<f64>) -> Option<Location> {
    Some(Location {
        place: String::new(),
        region: region.into(),
        country: country.into(),
        lat,
        lon,
    })
}

fn incident(
    case_id: Uuid,
    start: Option<FuzzyDate>,
    acts: &[&str],
    location: Option<Location>,
    persons: &[(Uuid, Role)],
) -> Record {
    Record::Incident(Incident {
        case_id,
        title: String::new(),
        description: String::new(),
        start,
        end: None,
        location,
        act_types: acts.iter().map(|a| a.to_string()).collect(),
        persons: persons
            .iter()
            .map(|(person_id, role)| Involvement {
                person_id: *person_id,
                role: *role,
            })
            .collect(),
        related: vec![],
        impact: String::new(),
    })
}

fn person(case_id: Uuid) -> Person {
    Person {
        case_id,
        name: String::new(),
        other_names: vec![],
        roles: vec![],
        is_group: false,
        group_size: None,
        sex: String::new(),
        birth_date: None,
        occupation: String::new(),
        organisation: String::new(),
        human_rights_work: String::new(),
        residence: String::new(),
        citizenship: String::new(),
        consent: Consents::default(),
        contact: String::new(),
    }
}

fn intervention(case_id: Uuid, mechanism: &str, status: InterventionStatus) -> Intervention {
    Intervention {
        case_id,
        title: String::new(),
        mechanism: mechanism.into(),
        kind: InterventionType::UrgentAppeal,
        date: None,
        status,
        reference: String::new(),
        response: String::new(),
        incident_ids: vec![],
        person_ids: vec![],
        channel: String::new(),
        follow_up: None,
        language: String::new(),
        form: vec![],
    }
}

fn count(key: &str, n: u32) -> Count {
    Count {
        key: key.into(),
        count: Shown::Exact(n),
    }
}

fn counts(list: &[(&str, u32)]) -> Vec<Count> {
    list.iter().map(|(k, n)| count(k, *n)).collect()
}

fn exact(n: u32) -> Shown {
    Shown::Exact(n)
}

// ----- (a) a hand-built fixture, every figure stated by hand -----

/// Two cases; seven persons; five incidents; five interventions; a note.
fn fixture() -> Vec<(Uuid, Record)> {
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let p: Vec<Uuid> = (0..7).map(|_| Uuid::new_v4()).collect();
    let mut out = vec![(a, case("A")), (b, case("B"))];

    // p0: a victim through an incident only (no role on the record).
    let mut p0 = person(a);
    p0.sex = "F".into();
    p0.occupation = "Journalist".into();
    p0.consent.publish = Consent::Given;
    // p1: a victim through the role on the record.
    let mut p1 = person(a);
    p1.roles = vec![Role::Victim];
    p1.sex = "male".into();
    p1.occupation = "  journalist ".into();
    // p2: a group of 12, no sex or occupation written.
    let mut p2 = person(b);
    p2.roles = vec![Role::Victim];
    p2.is_group = true;
    p2.group_size = Some(12);
    p2.consent.publish = Consent::Refused;
    // p3: a perpetrator through an incident.
    let mut p3 = person(a);
    p3.organisation = "National Police".into();
    p3.occupation = "officer".into();
    // p4: a perpetrator by role, occupation only.
    let mut p4 = person(b);
    p4.roles = vec![Role::Perpetrator];
    p4.occupation = "Soldier".into();
    // p5: a witness.
    let mut p5 = person(b);
    p5.roles = vec![Role::Witness];
    p5.consent.publish = Consent::Given;
    // p6: a perpetrator by role, the same organisation spelt otherwise.
    let mut p6 = person(b);
    p6.roles = vec![Role::Perpetrator];
    p6.organisation = "national   police".into();
    for (i, pr) in [p0, p1, p2, p3, p4, p5, p6].into_iter().enumerate() {
        out.push((p[i], Record::Person(pr)));
    }

    let inc = |r| (Uuid::new_v4(), r);
    out.push(inc(incident(
        a,
        fuzzy(day(2024, 1, 15), Precision::Day),
        &["arbitrary_arrest", "torture"],
        place("tn", "Sfax", Some(34.74), Some(10.76)),
        &[
            (p[0], Role::Victim),
            (p[3], Role::Perpetrator),
            (p[0], Role::Victim),
        ],
    )));
    out.push(inc(incident(
        a,
        fuzzy(day(2024, 3, 1), Precision::Month),
        &["arbitrary_arrest", "arbitrary_arrest"],
        place("TN", "sfax ", Some(34.76), Some(10.71)),
        &[(p[1], Role::Victim), (p[5], Role::Witness)],
    )));
    out.push(inc(incident(
        b,
        fuzzy(day(2023, 1, 1), Precision::Year),
        &[],
        None,
        &[],
    )));
    out.push(inc(incident(
        b,
        None,
        &["threat"],
        place(" Tunisia ", "", Some(f64::NAN), Some(10.0)),
        &[],
    )));
    out.push(inc(incident(
        b,
        fuzzy(day(2024, 1, 20), Precision::Approximate),
        &["threat"],
        place("", "Gafsa", Some(91.0), Some(0.0)),
        &[],
    )));

    for (m, s) in [
        ("un_sr_hrd", InterventionStatus::Draft),
        ("un_sr_hrd", InterventionStatus::Sent),
        ("un_sr_hrd", InterventionStatus::Responded),
        ("", InterventionStatus::Acknowledged),
        ("eu_delegation", InterventionStatus::Closed),
    ] {
        out.push((Uuid::new_v4(), Record::Intervention(intervention(a, m, s))));
    }
    out.push((
        Uuid::new_v4(),
        Record::Note(Note {
            case_id: a,
            text: "a note".into(),
            about: vec![],
        }),
    ));
    out
}

fn figures_of(records: &[(Uuid, Record)], period: Period) -> Figures {
    compute_with_ids(
        records.iter().map(|(id, r)| (*id, r)),
        &Options {
            period,
            threshold: 3,
        },
    )
}

#[test]
fn a_hand_built_fixture_has_the_counts_stated_by_hand() {
    let f = figures_of(&fixture(), Period::Month);
    assert_eq!(f.cases, exact(2));
    assert_eq!(f.incidents, exact(5));
    // p0 (1) + p1 (1) + the group p2 (12).
    assert_eq!(f.victims, exact(14));
    // Everyone but p0 and p5.
    assert_eq!(f.without_publish_consent, exact(5));
    assert_eq!(f.threshold, None);

    assert_eq!(f.timeline.period, Period::Month);
    assert_eq!(
        f.timeline.bins,
        vec![
            Bin {
                start: day(2024, 1, 1),
                by_act: counts(&[("arbitrary_arrest", 1), ("threat", 1), ("torture", 1)]),
                total: exact(2),
            },
            Bin {
                start: day(2024, 2, 1),
                by_act: vec![],
                total: exact(0),
            },
            Bin {
                start: day(2024, 3, 1),
                by_act: counts(&[("arbitrary_arrest", 1)]),
                total: exact(1),
            },
        ]
    );
    assert_eq!(
        f.timeline.coarse,
        vec![Coarse {
            start: day(2023, 1, 1),
            precision: "year".into(),
            count: exact(1),
        }]
    );
    assert_eq!(f.timeline.undated, exact(1));

    assert_eq!(
        f.places.countries,
        counts(&[("TN", 2), ("unknown", 2), ("Tunisia", 1)])
    );
    assert_eq!(
        f.places.regions,
        vec![
            Region {
                country: "TN".into(),
                region: "Sfax".into(),
                count: exact(2),
            },
            Region {
                country: "unknown".into(),
                region: "Gafsa".into(),
                count: exact(1),
            },
        ]
    );
    // Both Sfax incidents have coordinates: the map draws them there, not at Sfax too.
    assert_eq!(
        f.places.regions_without_points,
        vec![Region {
            country: "unknown".into(),
            region: "Gafsa".into(),
            count: exact(1),
        }]
    );
    assert_eq!(
        f.places.points,
        vec![
            Point {
                lat: 34.74,
                lon: 10.76,
                count: exact(1),
            },
            Point {
                lat: 34.76,
                lon: 10.71,
                count: exact(1),
            },
        ]
    );
    assert_eq!(
        f.act_types,
        counts(&[
            ("arbitrary_arrest", 2),
            ("threat", 2),
            ("torture", 1),
            ("unknown", 1)
        ])
    );
    assert_eq!(
        f.victims_by_sex,
        counts(&[("unknown", 12), ("female", 1), ("male", 1)])
    );
    assert_eq!(
        f.victims_by_occupation,
        counts(&[("unknown", 12), ("Journalist", 2)])
    );
    assert_eq!(
        f.perpetrators_by_type,
        counts(&[("National Police", 2), ("Soldier", 1)])
    );
    assert_eq!(
        f.interventions,
        vec![
            Mechanism {
                mechanism: "un_sr_hrd".into(),
                draft: exact(1),
                awaiting: exact(1),
                answered: exact(1),
            },
            Mechanism {
                mechanism: "eu_delegation".into(),
                draft: exact(0),
                awaiting: exact(0),
                answered: exact(1),
            },
            Mechanism {
                mechanism: "unknown".into(),
                draft: exact(0),
                awaiting: exact(1),
                answered: exact(0),
            },
        ]
    );
}

#[test]
fn without_ids_only_the_roles_on_person_records_count() {
    let records = fixture();
    let f = compute(records.iter().map(|(_, r)| r), &Options::default());
    // p0 and p3 are victim and perpetrator only through incidents.
    assert_eq!(f.victims, exact(13));
    assert_eq!(
        f.perpetrators_by_type,
        counts(&[("Soldier", 1), ("national   police", 1)])
    );
    assert_eq!(f.incidents, exact(5));
}

#[test]
fn the_same_person_given_twice_counts_once() {
    let mut records = fixture();
    let again = records
        .iter()
        .find(|(_, r)| matches!(r, Record::Person(p) if p.is_group))
        .cloned()
        .expect("the group");
    records.push(again);
    let f = figures_of(&records, Period::Month);
    assert_eq!(f.victims, exact(14));
    assert_eq!(f.without_publish_consent, exact(5));
}

// ----- (c) date precisions -----

#[test]
fn a_month_only_date_counts_in_its_month_and_is_coarse_in_weeks() {
    let c = Uuid::new_v4();
    let records = vec![
        (
            Uuid::new_v4(),
            incident(
                c,
                fuzzy(day(2024, 5, 1), Precision::Month),
                &["threat"],
                None,
                &[],
            ),
        ),
        (
            Uuid::new_v4(),
            incident(
                c,
                fuzzy(day(2024, 5, 29), Precision::Day),
                &["threat"],
                None,
                &[],
            ),
        ),
        (
            Uuid::new_v4(),
            incident(
                c,
                fuzzy(day(2024, 1, 1), Precision::Year),
                &["threat"],
                None,
                &[],
            ),
        ),
    ];
    let months = figures_of(&records, Period::Month);
    assert_eq!(months.timeline.bins.len(), 1);
    assert_eq!(months.timeline.bins[0].start, day(2024, 5, 1));
    assert_eq!(months.timeline.bins[0].total, exact(2));
    assert_eq!(
        months.timeline.coarse,
        vec![Coarse {
            start: day(2024, 1, 1),
            precision: "year".into(),
            count: exact(1)
        }]
    );

    let weeks = figures_of(&records, Period::Week);
    assert_eq!(weeks.timeline.period, Period::Week);
    // 2024-05-29 is a Wednesday: its week starts on Monday the 27th.
    assert_eq!(weeks.timeline.bins.len(), 1);
    assert_eq!(weeks.timeline.bins[0].start, day(2024, 5, 27));
    assert_eq!(weeks.timeline.bins[0].total, exact(1));
    assert_eq!(
        weeks.timeline.coarse,
        vec![
            Coarse {
                start: day(2024, 1, 1),
                precision: "year".into(),
                count: exact(1)
            },
            Coarse {
                start: day(2024, 5, 1),
                precision: "month".into(),
                count: exact(1)
            },
        ]
    );
}

#[test]
fn weeks_run_monday_to_sunday_with_empty_weeks_between() {
    let c = Uuid::new_v4();
    let records = vec![
        // Sunday 7 January 2024 and Monday 22 January 2024.
        (
            Uuid::new_v4(),
            incident(c, fuzzy(day(2024, 1, 7), Precision::Day), &[], None, &[]),
        ),
        (
            Uuid::new_v4(),
            incident(c, fuzzy(day(2024, 1, 22), Precision::Day), &[], None, &[]),
        ),
    ];
    let f = figures_of(&records, Period::Week);
    let starts: Vec<NaiveDate> = f.timeline.bins.iter().map(|b| b.start).collect();
    assert_eq!(
        starts,
        vec![
            day(2024, 1, 1),
            day(2024, 1, 8),
            day(2024, 1, 15),
            day(2024, 1, 22)
        ]
    );
    let totals: Vec<Shown> = f.timeline.bins.iter().map(|b| b.total).collect();
    assert_eq!(totals, vec![exact(1), exact(0), exact(0), exact(1)]);
    assert_eq!(f.timeline.bins[0].by_act, counts(&[("unknown", 1)]));
}

#[test]
fn a_timeline_longer_than_the_cap_keeps_the_last_bins_and_counts_the_rest_by_year() {
    let c = Uuid::new_v4();
    let mut records = vec![];
    // One incident a year, 1800 to 2024, plus the extreme dates of the calendar.
    for y in 1800..=2024 {
        records.push((
            Uuid::new_v4(),
            incident(c, fuzzy(day(y, 6, 15), Precision::Day), &[], None, &[]),
        ));
    }
    records.push((
        Uuid::new_v4(),
        incident(c, fuzzy(NaiveDate::MIN, Precision::Day), &[], None, &[]),
    ));
    let f = figures_of(&records, Period::Month);
    assert_eq!(f.timeline.bins.len(), custos_patterns::figures::MAX_BINS);
    let last = f.timeline.bins.last().expect("bins");
    assert_eq!(last.start, day(2024, 6, 1));
    // 1,200 months back from June 2024: July 1924.
    assert_eq!(f.timeline.bins[0].start, day(1924, 7, 1));
    let binned: u32 = f
        .timeline
        .bins
        .iter()
        .map(|b| match b.total {
            Shown::Exact(n) => n,
            Shown::FewerThan(_) | Shown::Between(..) => panic!("exact figures"),
        })
        .sum();
    let coarse: u32 = f
        .timeline
        .coarse
        .iter()
        .map(|c| {
            assert_eq!(c.precision, "year");
            match c.count {
                Shown::Exact(n) => n,
                Shown::FewerThan(_) | Shown::Between(..) => panic!("exact figures"),
            }
        })
        .sum();
    assert_eq!(binned, 100); // 1925 … 2024
    assert_eq!(coarse, 126); // 1800 … 1924, and the earliest date there is
    assert_eq!(exact(binned + coarse), f.incidents);

    let w = figures_of(&records, Period::Week);
    assert_eq!(w.timeline.bins.len(), custos_patterns::figures::MAX_BINS);
    assert_eq!(w.timeline.undated, exact(0));
}

// ----- (d) no names anywhere -----

#[test]
fn no_name_description_title_or_place_reaches_the_figures() {
    let c = Uuid::new_v4();
    let victim = Uuid::new_v4();
    let m = |field: &str| format!("MARKER-{field}");
    let mut p = person(c);
    p.name = m("name");
    p.other_names = vec![m("other-name")];
    p.roles = vec![Role::Victim, Role::Perpetrator];
    p.sex = m("sex");
    p.human_rights_work = m("hrw");
    p.residence = m("residence");
    p.citizenship = m("citizenship");
    p.contact = m("contact");
    p.occupation = "CATEGORY-occupation".into();
    p.organisation = "CATEGORY-organisation".into();
    let inc = Incident {
        case_id: c,
        title: m("incident-title"),
        description: m("description"),
        start: fuzzy(day(2020, 2, 2), Precision::Day),
        end: fuzzy(day(2020, 2, 3), Precision::Day),
        location: Some(Location {
            place: m("place"),
            region: "CATEGORY-region".into(),
            country: "CATEGORY-country".into(),
            lat: Some(1.0),
            lon: Some(2.0),
        }),
        act_types: vec!["CATEGORY-act".into()],
        persons: vec![Involvement {
            person_id: victim,
            role: Role::Victim,
        }],
        related: vec![],
        impact: m("impact"),
    };
    let mut iv = intervention(c, "CATEGORY-mechanism", InterventionStatus::Sent);
    iv.title = m("intervention-title");
    iv.reference = m("reference");
    iv.response = m("response");
    iv.channel = m("channel");
    iv.language = m("language");
    iv.form = vec![FormField {
        key: m("form-key"),
        value: m("form-value"),
    }];
    let records = vec![
        (
            c,
            Record::Case(Case {
                title: m("case-title"),
                summary: m("summary"),
                tags: vec![m("tag")],
                owner: m("owner"),
                ..Case::default()
            }),
        ),
        (victim, Record::Person(p)),
        (Uuid::new_v4(), Record::Incident(inc)),
        (Uuid::new_v4(), Record::Intervention(iv)),
        (
            Uuid::new_v4(),
            Record::Note(Note {
                case_id: c,
                text: m("note"),
                about: vec![],
            }),
        ),
    ];
    let f = figures_of(&records, Period::Month);
    for figures in [f.clone(), f.published(1), f.published(3)] {
        let json = serde_json::to_string(&figures).expect("figures serialise");
        assert!(!json.contains("MARKER"), "a marker leaked: {json}");
    }
    // The categories do reach the exact figures (so the test sees what it looks for).
    let json = serde_json::to_string(&f).expect("figures serialise");
    for cat in [
        "occupation",
        "organisation",
        "region",
        "country",
        "act",
        "mechanism",
    ] {
        assert!(
            json.contains(&format!("CATEGORY-{cat}")),
            "{cat} missing: {json}"
        );
    }
    assert_eq!(f.victims_by_sex, counts(&[("other", 1)]));
}

// ----- (e) published figures -----

#[test]
fn published_withholds_small_counts_folds_rare_free_text_and_rounds_points() {
    let f = figures_of(&fixture(), Period::Month);
    let p = f.published(3);
    assert_eq!(p.threshold, Some(3));
    let few = Shown::FewerThan(3);
    // The cases stay exact; the totals are what their published parts allow.
    assert_eq!(p.cases, exact(2));
    // Two countries are withheld: "5 incidents" beside the shown ones would give them
    // away; the range is what the countries and the timeline allow together.
    assert_eq!(p.incidents, Shown::Between(4, 6));
    // Unknown (12) and two withheld sexes allow 14 to 16, unknown (12) and a withheld
    // "other" occupation 13 to 14: together, 14 — the parts already tell it.
    assert_eq!(p.victims, exact(14));
    assert_eq!(p.without_publish_consent, exact(5));
    assert_eq!(p.timeline.bins[0].total, few);
    assert_eq!(p.timeline.bins[1].total, exact(0), "a zero stays a zero");
    assert!(p.timeline.bins[0].by_act.iter().all(|c| c.count == few));
    assert_eq!(p.timeline.undated, few);
    assert_eq!(p.timeline.coarse[0].count, few);
    assert_eq!(
        p.act_types.iter().map(|c| c.count).collect::<Vec<_>>(),
        vec![few; 4]
    );
    // Fixed categories are withheld, never folded.
    assert_eq!(
        p.victims_by_sex,
        vec![
            count("unknown", 12),
            Count {
                key: "female".into(),
                count: few
            },
            Count {
                key: "male".into(),
                count: few
            },
        ]
    );
    // Free text below the threshold is folded into "other".
    assert_eq!(
        p.victims_by_occupation,
        vec![
            count("unknown", 12),
            Count {
                key: "other".into(),
                count: few
            }
        ]
    );
    // National Police (2) and Soldier (1) fold into other (3): shown.
    assert_eq!(p.perpetrators_by_type, counts(&[("other", 3)]));
    assert_eq!(
        p.places.regions,
        vec![Region {
            country: "unknown".into(),
            region: "other".into(),
            count: exact(3),
        }]
    );
    assert_eq!(
        p.places.points,
        vec![
            Point {
                lat: 34.7,
                lon: 10.8,
                count: few
            },
            Point {
                lat: 34.8,
                lon: 10.7,
                count: few
            },
        ]
    );
    assert_eq!(p.interventions[0].draft, few);
    assert_eq!(p.interventions[1].draft, exact(0));
}

#[test]
fn published_merges_points_that_round_to_one_place() {
    let c = Uuid::new_v4();
    let records: Vec<(Uuid, Record)> = [
        (34.71, 10.72),
        (34.69, 10.68),
        (34.70, 10.70),
        (-0.01, -0.02),
    ]
    .into_iter()
    .map(|(lat, lon)| {
        (
            Uuid::new_v4(),
            incident(c, None, &[], place("TN", "", Some(lat), Some(lon)), &[]),
        )
    })
    .collect();
    let f = figures_of(&records, Period::Month);
    assert_eq!(f.places.points.len(), 4);
    let p = f.published(3);
    assert_eq!(
        p.places.points,
        vec![
            Point {
                lat: 34.7,
                lon: 10.7,
                count: exact(3)
            },
            Point {
                lat: 0.0,
                lon: 0.0,
                count: Shown::FewerThan(3)
            },
        ]
    );
    assert!(p.places.points[1].lat.is_sign_positive());
}

#[test]
fn published_is_idempotent() {
    let f = figures_of(&fixture(), Period::Month);
    for t in [0, 1, 2, 3, 5, 100] {
        let once = f.published(t);
        assert_eq!(once.published(t), once, "threshold {t}");
    }
    let g = generated(7);
    let once = g.figures.published(3);
    assert_eq!(once.published(3), once);
    // A higher threshold on published figures withholds more, never less.
    let twice = once.published(10);
    assert_eq!(twice.threshold, Some(10));
    assert!(twice
        .act_types
        .iter()
        .all(|c| !matches!(c.count, Shown::Exact(n) if n > 0 && n < 10)));
}

#[test]
fn threshold_one_shows_every_count() {
    let f = figures_of(&fixture(), Period::Month);
    let p = f.published(1);
    assert_eq!(p.threshold, Some(1));
    assert_eq!(p.act_types, f.act_types);
    assert_eq!(p.timeline, f.timeline);
    assert_eq!(p.victims_by_occupation, f.victims_by_occupation);
    assert_eq!(p.perpetrators_by_type, f.perpetrators_by_type);
    assert_eq!(p.places.regions, f.places.regions);
    assert_eq!(p.interventions, f.interventions);
    let text = serde_json::to_string(&p).expect("figures serialise");
    assert!(!text.contains("fewer_than"), "{text}");
}

// ----- bad input draws something sane -----

#[test]
fn an_empty_selection_has_empty_figures() {
    let f = compute(std::iter::empty(), &Options::default());
    assert_eq!(f.incidents, exact(0));
    assert!(f.timeline.bins.is_empty());
    assert_eq!(f.timeline.undated, exact(0));
    assert!(f.act_types.is_empty() && f.places.countries.is_empty());
    assert_eq!(f.published(3).timeline.undated, exact(0));
}

#[test]
fn huge_counts_many_categories_long_and_right_to_left_text() {
    let c = Uuid::new_v4();
    let long = "ج".repeat(200);
    let mut records = vec![];
    for i in 0..10_000 {
        let mut p = person(c);
        p.roles = vec![Role::Victim];
        p.occupation = format!("occupation {i}");
        records.push((Uuid::new_v4(), Record::Person(p)));
    }
    let mut big = person(c);
    big.roles = vec![Role::Victim];
    big.is_group = true;
    big.group_size = Some(u32::MAX);
    big.occupation = format!("  {long}  ");
    big.sex = "أنثى".into();
    records.push((Uuid::new_v4(), Record::Person(big)));
    let f = figures_of(&records, Period::Month);
    assert_eq!(f.victims, exact(u32::MAX), "saturates, never wraps");
    assert_eq!(f.victims_by_occupation.len(), 10_001);
    assert_eq!(f.victims_by_occupation[0], count(&long, u32::MAX));
    assert_eq!(f.victims_by_sex[0], count("female", u32::MAX));
    let p = f.published(3);
    assert_eq!(
        p.victims_by_occupation,
        vec![count(&long, u32::MAX), count("other", 10_000)]
    );
}

#[test]
fn sex_is_normalised_to_four_codes() {
    for (written, code) in [
        ("Female", "female"),
        (" f ", "female"),
        ("Femme", "female"),
        ("mujer", "female"),
        ("أنثى", "female"),
        ("M", "male"),
        ("Homme", "male"),
        ("hombre", "male"),
        ("ذكر", "male"),
        ("", "unknown"),
        ("  ", "unknown"),
        ("Unknown", "unknown"),
        ("non-binary", "other"),
    ] {
        assert_eq!(sex_of(written), code, "{written:?}");
    }
}

// ----- (b) a generated fixture against counts computed another way -----

/// A small seeded generator (SplitMix64): the same plan on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const ACTS: [&str; 5] = [
    "arbitrary_arrest",
    "torture",
    "threat",
    "surveillance",
    "killing",
];
const COUNTRIES: [&str; 4] = ["tn", "EG", "Lebanon", ""];
const SEXES: [&str; 5] = ["female", "M", "", "non-binary", "Femme"];
const JOBS: [&str; 4] = ["Journalist", "journalist ", "Lawyer", ""];
const MECHS: [&str; 3] = ["un_sr_hrd", "eu_delegation", ""];

struct PlanIncident {
    case: usize,
    month: Option<(i32, u32)>,
    acts: Vec<usize>,
    country: usize,
    victims: Vec<usize>,
    perps: Vec<usize>,
}

struct PlanPerson {
    case: usize,
    role_victim: bool,
    role_perp: bool,
    group: Option<u32>,
    sex: usize,
    job: usize,
    consent: bool,
}

struct Generated {
    incidents: Vec<PlanIncident>,
    persons: Vec<PlanPerson>,
    interventions: Vec<(usize, usize, InterventionStatus)>,
    figures: Figures,
    records: usize,
}

fn generated(seed: u64) -> Generated {
    let mut rng = Rng(seed);
    let cases = 160;
    let mut persons = vec![];
    let mut incidents = vec![];
    let mut interventions = vec![];
    for case in 0..cases {
        let first = persons.len();
        let n_persons = 2 + rng.below(8);
        for _ in 0..n_persons {
            persons.push(PlanPerson {
                case,
                role_victim: rng.below(3) == 0,
                role_perp: rng.below(6) == 0,
                group: (rng.below(10) == 0).then(|| rng.below(30) as u32),
                sex: rng.below(SEXES.len()),
                job: rng.below(JOBS.len()),
                consent: rng.below(2) == 0,
            });
        }
        for _ in 0..(1 + rng.below(8)) {
            let pick = |rng: &mut Rng| first + rng.below(n_persons);
            let victims = (0..rng.below(3)).map(|_| pick(&mut rng)).collect();
            let perps = (0..rng.below(2)).map(|_| pick(&mut rng)).collect();
            incidents.push(PlanIncident {
                case,
                month: (rng.below(8) != 0)
                    .then(|| (2020 + rng.below(3) as i32, 1 + rng.below(12) as u32)),
                acts: (0..rng.below(3)).map(|_| rng.below(ACTS.len())).collect(),
                country: rng.below(COUNTRIES.len()),
                victims,
                perps,
            });
        }
        for _ in 0..rng.below(4) {
            let status = [
                InterventionStatus::Draft,
                InterventionStatus::Sent,
                InterventionStatus::Acknowledged,
                InterventionStatus::Responded,
                InterventionStatus::Closed,
            ][rng.below(5)];
            interventions.push((case, rng.below(MECHS.len()), status));
        }
    }

    // The records of the plan.
    let case_ids: Vec<Uuid> = (0..cases).map(|_| Uuid::new_v4()).collect();
    let person_ids: Vec<Uuid> = persons.iter().map(|_| Uuid::new_v4()).collect();
    let mut records: Vec<(Uuid, Record)> = case_ids.iter().map(|id| (*id, case("c"))).collect();
    for (i, pp) in persons.iter().enumerate() {
        let mut p = person(case_ids[pp.case]);
        if pp.role_victim {
            p.roles.push(Role::Victim);
        }
        if pp.role_perp {
            p.roles.push(Role::Perpetrator);
        }
        p.is_group = pp.group.is_some();
        p.group_size = pp.group;
        p.sex = SEXES[pp.sex].into();
        p.occupation = JOBS[pp.job].into();
        if pp.consent {
            p.consent.publish = Consent::Given;
        }
        records.push((person_ids[i], Record::Person(p)));
    }
    for pi in &incidents {
        let mut inv: Vec<(Uuid, Role)> = pi
            .victims
            .iter()
            .map(|v| (person_ids[*v], Role::Victim))
            .collect();
        inv.extend(pi.perps.iter().map(|v| (person_ids[*v], Role::Perpetrator)));
        let acts: Vec<&str> = pi.acts.iter().map(|a| ACTS[*a]).collect();
        records.push((
            Uuid::new_v4(),
            incident(
                case_ids[pi.case],
                pi.month.map(|(y, m)| FuzzyDate {
                    date: day(y, m, 10),
                    precision: Precision::Day,
                }),
                &acts,
                place(COUNTRIES[pi.country], "", None, None),
                &inv,
            ),
        ));
    }
    for (case, mech, status) in &interventions {
        records.push((
            Uuid::new_v4(),
            Record::Intervention(intervention(case_ids[*case], MECHS[*mech], *status)),
        ));
    }
    let figures = figures_of(&records, Period::Month);
    Generated {
        incidents,
        persons,
        interventions,
        figures,
        records: records.len(),
    }
}

fn n_of(list: &[Count], key: &str) -> u32 {
    list.iter()
        .find(|c| c.key == key)
        .map(|c| match c.count {
            Shown::Exact(n) => n,
            Shown::FewerThan(_) | Shown::Between(..) => panic!("exact figures"),
        })
        .unwrap_or(0)
}

#[test]
fn a_generated_fixture_matches_counts_computed_from_its_plan() {
    let g = generated(0x5eed);
    assert!(
        g.records > 1_800 && g.records < 2_400,
        "{} records",
        g.records
    );
    let f = &g.figures;
    assert_eq!(f.cases, exact(160));
    assert_eq!(f.incidents, exact(g.incidents.len() as u32));

    // Act types: for each type, the incidents naming it at least once.
    for (a, code) in ACTS.iter().enumerate() {
        let want = g.incidents.iter().filter(|i| i.acts.contains(&a)).count() as u32;
        assert_eq!(n_of(&f.act_types, code), want, "{code}");
    }
    let none = g.incidents.iter().filter(|i| i.acts.is_empty()).count() as u32;
    assert_eq!(n_of(&f.act_types, "unknown"), none);

    // Timeline: for each month of 2020-2022, the incidents dated in it.
    let mut months = 0;
    for y in 2020..=2022 {
        for m in 1..=12 {
            let want = g
                .incidents
                .iter()
                .filter(|i| i.month == Some((y, m)))
                .count() as u32;
            let bin = f.timeline.bins.iter().find(|b| b.start == day(y, m, 1));
            match bin {
                Some(b) => {
                    months += 1;
                    assert_eq!(b.total, exact(want), "{y}-{m}");
                    for (a, code) in ACTS.iter().enumerate() {
                        let w = g
                            .incidents
                            .iter()
                            .filter(|i| i.month == Some((y, m)) && i.acts.contains(&a))
                            .count() as u32;
                        assert_eq!(n_of(&b.by_act, code), w, "{y}-{m} {code}");
                    }
                }
                None => assert_eq!(want, 0, "{y}-{m} has no bin"),
            }
        }
    }
    assert_eq!(months, f.timeline.bins.len());
    let undated = g.incidents.iter().filter(|i| i.month.is_none()).count() as u32;
    assert_eq!(f.timeline.undated, exact(undated));

    // Countries.
    for (key, written) in [
        ("TN", "tn"),
        ("EG", "EG"),
        ("Lebanon", "Lebanon"),
        ("unknown", ""),
    ] {
        let want = g
            .incidents
            .iter()
            .filter(|i| COUNTRIES[i.country] == written)
            .count() as u32;
        assert_eq!(n_of(&f.places.countries, key), want, "{key}");
    }

    // Victims: a person is one when their record says so or any incident does.
    let is_victim =
        |p: usize| g.persons[p].role_victim || g.incidents.iter().any(|i| i.victims.contains(&p));
    let is_perp =
        |p: usize| g.persons[p].role_perp || g.incidents.iter().any(|i| i.perps.contains(&p));
    let weight = |p: usize| match g.persons[p].group {
        Some(0) | None => 1,
        Some(n) => n,
    };
    let victims: u32 = (0..g.persons.len())
        .filter(|p| is_victim(*p))
        .map(weight)
        .sum();
    assert_eq!(f.victims, exact(victims));
    let mut by_sex = [0u32; 4]; // female, male, other, unknown
    for p in (0..g.persons.len()).filter(|p| is_victim(*p)) {
        let slot = match SEXES[g.persons[p].sex] {
            "female" | "Femme" => 0,
            "M" => 1,
            "non-binary" => 2,
            _ => 3,
        };
        by_sex[slot] += weight(p);
    }
    for (slot, key) in ["female", "male", "other", "unknown"].iter().enumerate() {
        assert_eq!(n_of(&f.victims_by_sex, key), by_sex[slot], "{key}");
    }
    let journalists: u32 = (0..g.persons.len())
        .filter(|p| is_victim(*p) && g.persons[*p].job <= 1)
        .map(weight)
        .sum();
    let journalist_key = &f
        .victims_by_occupation
        .iter()
        .find(|c| c.key.trim().eq_ignore_ascii_case("journalist"))
        .map(|c| c.key.clone())
        .unwrap_or_default();
    assert_eq!(n_of(&f.victims_by_occupation, journalist_key), journalists);
    assert_eq!(
        f.victims_by_occupation
            .iter()
            .filter(|c| c.key.trim().eq_ignore_ascii_case("journalist"))
            .count(),
        1,
        "both spellings are one group"
    );
    let perps = (0..g.persons.len()).filter(|p| is_perp(*p)).count() as u32;
    let perps_counted: u32 = f
        .perpetrators_by_type
        .iter()
        .map(|c| n_of(std::slice::from_ref(c), &c.key))
        .sum();
    assert_eq!(perps_counted, perps);
    let without = g.persons.iter().filter(|p| !p.consent).count() as u32;
    assert_eq!(f.without_publish_consent, exact(without));

    // Interventions.
    for (m, code) in MECHS.iter().enumerate() {
        let key = if code.is_empty() { "unknown" } else { code };
        let of = |pick: &dyn Fn(InterventionStatus) -> bool| {
            exact(
                g.interventions
                    .iter()
                    .filter(|(_, mech, s)| *mech == m && pick(*s))
                    .count() as u32,
            )
        };
        let row = f.interventions.iter().find(|r| r.mechanism == key);
        let Some(row) = row else {
            assert!(g.interventions.iter().all(|(_, mech, _)| *mech != m));
            continue;
        };
        assert_eq!(row.draft, of(&|s| s == InterventionStatus::Draft));
        assert_eq!(
            row.awaiting,
            of(&|s| matches!(
                s,
                InterventionStatus::Sent | InterventionStatus::Acknowledged
            ))
        );
        assert_eq!(
            row.answered,
            of(&|s| matches!(
                s,
                InterventionStatus::Responded | InterventionStatus::Closed
            ))
        );
    }
}

// ----- labels -----

#[test]
fn every_locale_has_every_contract_key_and_no_other() {
    for lang in custos_model::languages::codes() {
        let text = locale_source(lang).expect("a shipped locale");
        let map: std::collections::BTreeMap<String, String> =
            serde_json::from_str(text).unwrap_or_else(|e| panic!("{lang}: {e}"));
        for key in KEYS {
            assert!(
                map.get(key).is_some_and(|v| !v.trim().is_empty()),
                "{lang}: no {key}"
            );
        }
        for key in map.keys() {
            assert!(KEYS.contains(&key.as_str()), "{lang}: unknown key {key}");
        }
        assert!(map["fewer_than"].contains("{n}"), "{lang}");
        assert!(
            map["between"].contains("{from}") && map["between"].contains("{to}"),
            "{lang}"
        );
        assert!(map["threshold_note"].contains("{n}"), "{lang}");
        assert!(
            map["week"].contains("{n}") && map["week"].contains("{year}"),
            "{lang}"
        );
        let labels = Labels::of(lang);
        assert_eq!(labels.lang, lang);
        let listed = custos_model::languages::get(lang).expect("listed");
        assert_eq!(labels.rtl, listed.rtl, "{lang}");
        assert_eq!(labels.months().len(), 12, "{lang}");
        assert_eq!(map["months"].split(',').count(), 12, "{lang}");
    }
}

#[test]
fn labels_speak_each_language_and_fall_back_to_english() {
    let ar = Labels::of("ar");
    assert!(ar.rtl);
    assert_eq!(ar.count(Shown::FewerThan(3)), "أقل من 3");
    assert_eq!(ar.category("sex", "female"), "أنثى");
    for (tag, lang) in [
        ("zh-CN", "zh-Hans"),
        ("zh-TW", "en"),
        ("pt-BR", "pt"),
        ("fa", "fa"),
    ] {
        assert_eq!(Labels::of(tag).lang, lang, "{tag}");
    }
    assert!(Labels::of("fa").rtl);
    let fr = Labels::of("fr-CA");
    assert_eq!(fr.lang, "fr");
    assert!(!fr.rtl);
    assert_eq!(fr.count(Shown::Exact(12)), "12");
    assert_eq!(fr.count(Shown::FewerThan(5)), "moins de 5");
    assert_eq!(fr.text("title.act_types"), "Incidents par type d’acte");
    let vocab = custos_model::vocab::builtin();
    let arrest = vocab.act_types.get("arbitrary_arrest").expect("term");
    assert_eq!(
        fr.category("act_types", "arbitrary_arrest"),
        arrest.label("fr")
    );
    assert_ne!(
        fr.category("act_types", "arbitrary_arrest"),
        arrest.label("en")
    );
    let sr = vocab.mechanisms.get("un_sr_hrd").expect("term");
    assert_eq!(ar.category("mechanisms", "un_sr_hrd"), sr.label("ar"));
    // Codes outside the vocabulary, countries and free text are shown as written.
    assert_eq!(fr.category("act_types", "made_up"), "made_up");
    assert_eq!(fr.category("country", "TN"), "TN");
    assert_eq!(
        fr.category("victims_by_occupation", "Journaliste"),
        "Journaliste"
    );
    assert_eq!(fr.category("victims_by_occupation", "unknown"), "Inconnu");
    assert_eq!(fr.category("sex", "other"), "Autre");
    assert_eq!(fr.category("perpetrators_by_type", "other"), "Autres");

    let xx = Labels::of("xx");
    assert_eq!(xx.lang, "en");
    assert_eq!(xx.text("undated"), "Undated");
    assert_eq!(xx.text("no.such.key"), "no.such.key");
    assert_eq!(Labels::of("").lang, "en");
}

#[test]
fn a_free_text_group_is_shown_in_its_most_written_spelling_whatever_the_order() {
    let case_id = Uuid::new_v4();
    let victim = |occupation: &str| {
        let mut p = person(case_id);
        p.roles = vec![Role::Victim];
        p.occupation = occupation.into();
        (Uuid::new_v4(), Record::Person(p))
    };
    let spellings = ["journalist", "Journalist", "Journalist ", "JOURNALIST"];
    // Every rotation of the records, both ways round: the label never changes.
    for turn in 0..spellings.len() {
        for reverse in [false, true] {
            let mut records: Vec<_> = spellings.iter().map(|s| victim(s)).collect();
            records.rotate_left(turn);
            if reverse {
                records.reverse();
            }
            let f = figures_of(&records, Period::Month);
            assert_eq!(
                f.victims_by_occupation,
                counts(&[("Journalist", 4)]),
                "turn {turn}, reversed {reverse}"
            );
        }
    }
    // A tie goes to the first spelling in code point order.
    let tie = [victim("lawyer"), victim("Lawyer")];
    for records in [tie.to_vec(), tie.iter().rev().cloned().collect()] {
        let f = figures_of(&records, Period::Month);
        assert_eq!(f.victims_by_occupation, counts(&[("Lawyer", 2)]));
    }
}

/// The victims of one case, each `(sex, occupation)`.
fn victims_of(list: &[(&str, &str)]) -> Vec<(Uuid, Record)> {
    let case_id = Uuid::new_v4();
    list.iter()
        .map(|(sex, occupation)| {
            let mut p = person(case_id);
            p.roles = vec![Role::Victim];
            p.sex = (*sex).into();
            p.occupation = (*occupation).into();
            (Uuid::new_v4(), Record::Person(p))
        })
        .collect()
}

#[test]
fn a_published_total_never_gives_away_a_withheld_count_by_subtraction() {
    // Ten women and one man: "male: fewer than 3" beside "victims: 11" and "female: 10"
    // would say the man is alone.
    let mut list = vec![("female", "Journalist"); 6];
    list.extend([("female", "Lawyer"); 4]);
    list.push(("male", "Teacher"));
    let f = figures_of(&victims_of(&list), Period::Month);
    assert_eq!(f.victims, exact(11), "the user's own figures are exact");
    let p = f.published(3);
    assert_eq!(n_of(&p.victims_by_sex, "female"), 10);
    assert!(p.victims_by_sex.contains(&Count {
        key: "male".into(),
        count: Shown::FewerThan(3)
    }));
    // Sex allows 11 or 12, occupation (6 + 4 + fewer than 3 other) too.
    assert_eq!(p.victims, Shown::Between(11, 12));
    // Without a withheld part the total is exact; below the threshold it is withheld.
    let whole = figures_of(&victims_of(&[("female", "Journalist"); 4]), Period::Month);
    assert_eq!(whole.published(3).victims, exact(4));
    let two = figures_of(&victims_of(&[("female", "Journalist"); 2]), Period::Month);
    assert_eq!(two.published(3).victims, Shown::FewerThan(3));
    assert_eq!(
        two.published(3).without_publish_consent,
        Shown::FewerThan(3)
    );
    assert_eq!(two.published(1).victims, exact(2));
}

/// The least and greatest value a published count allows.
fn bounds(s: Shown) -> (u64, u64) {
    match s {
        Shown::Exact(n) => (n.into(), n.into()),
        Shown::FewerThan(t) => (1, u64::from(t.saturating_sub(1).max(1))),
        Shown::Between(a, b) => (a.into(), b.into()),
    }
}

fn sum_bounds<'a>(parts: impl IntoIterator<Item = &'a Shown>) -> (u64, u64) {
    parts.into_iter().fold((0, 0), |(lo, hi), s| {
        let (a, b) = bounds(*s);
        (lo + a, hi + b)
    })
}

#[test]
fn published_totals_hold_the_truth_and_say_no_more_than_their_parts() {
    for seed in [1u64, 7, 0x5eed, 99, 2024] {
        let g = generated(seed);
        let f = &g.figures;
        for t in [2u32, 3, 5, 10, 40] {
            let p = f.published(t);
            let Shown::Exact(incidents) = f.incidents else {
                panic!("exact")
            };
            let Shown::Exact(victims) = f.victims else {
                panic!("exact")
            };
            let over_time = sum_bounds(
                p.timeline
                    .bins
                    .iter()
                    .map(|b| &b.total)
                    .chain(p.timeline.coarse.iter().map(|c| &c.count))
                    .chain([&p.timeline.undated]),
            );
            let countries = sum_bounds(p.places.countries.iter().map(|c| &c.count));
            let sexes = sum_bounds(p.victims_by_sex.iter().map(|c| &c.count));
            let jobs = sum_bounds(p.victims_by_occupation.iter().map(|c| &c.count));
            for (total, shown, parts) in [
                (incidents, p.incidents, [over_time, countries]),
                (victims, p.victims, [sexes, jobs]),
            ] {
                let total = u64::from(total);
                let (lo, hi) = bounds(shown);
                assert!(
                    lo <= total && total <= hi,
                    "seed {seed} t {t}: {shown:?} ∌ {total}"
                );
                for (a, b) in parts {
                    assert!(a <= total && total <= b, "seed {seed} t {t}: a part list");
                }
                if total >= u64::from(t) {
                    // Exactly the range the parts allow together: nothing more is learnt.
                    let want = (
                        parts.iter().map(|p| p.0).max().unwrap_or(total),
                        parts.iter().map(|p| p.1).min().unwrap_or(total),
                    );
                    assert_eq!((lo, hi), want, "seed {seed} t {t}");
                }
            }
            // A bin's total holds the truth too.
            for (raw, bin) in f.timeline.bins.iter().zip(&p.timeline.bins) {
                let Shown::Exact(n) = raw.total else {
                    panic!("exact")
                };
                let (lo, hi) = bounds(bin.total);
                assert!(n == 0 || (lo <= u64::from(n) && u64::from(n) <= hi));
            }
            assert_eq!(p.published(t), p, "idempotent");
        }
    }
}
