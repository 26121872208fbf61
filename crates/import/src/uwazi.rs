//! Reading an Uwazi CSV export: one entity a row, one unit an entity.
//!
//! Uwazi (HURIDOCS) writes two kinds of CSV, and both are read here:
//!
//! - Its **export** of a search: columns `Title`, `Date added`, `Template`, one column
//!   per template property named by its label, then `Documents` (`/files/<name>`),
//!   `Attachments` (`https://<host>/api/files/<name>`) and `Published`. Dates are written
//!   in the user's date format, ranges as `from~to`, several values joined with `|`,
//!   thesaurus values of a group as `group::value`, geolocations as `lat|lon`, links as
//!   `label|url`, relationships as the related entities' titles.
//! - Its **import** file: columns named by property names (`title`, `date_of_incident`),
//!   an optional `id` (the entity's sharedId), `file` (the main document) and
//!   `attachments` (`|`-joined names), a `__<language>` suffix for translations
//!   (`title__es`), dates as `YYYY/MM/DD`, `YYYY` or timestamps, ranges as `from:to`;
//!   as a `.csv` with its files beside it, or a `.zip` holding `import.csv` and the files.
//!
//! A CSV does not say which template property a column is, so columns are known by
//! their names (in English, Spanish and French) and their values: see [`column()`].
//!
//! | Uwazi | Custos |
//! |---|---|
//! | Title (`title`, `title__<lang>`: the first filled) | case title, incident title, person name |
//! | Template | the case's first tag |
//! | Tags, Status, Confidentiality, Owner | the case's tags, status, confidentiality, owner |
//! | Published / Unpublished | the case's confidentiality: public / restricted |
//! | a summary or description | the case's summary |
//! | the first date named like a date (not of birth, not Date added); a range `from~to` or `from:to` | incident start (and end); `…end…` dates: incident end |
//! | Date precision (Day, Month, Year, Approximate) | the precision of those dates |
//! | a geolocation `lat\|lon`; a location, place, region, country | incident location |
//! | violations, types of act (`\|`-joined; `group::value` tried as value, then group) | incident act types where a value is a code or a label of the vocabulary |
//! | relationships (titles `\|`-joined) | kept as `Related: A \| B`; an entity read before is linked: incident to incident (`related`), else a note about it |
//! | sex, birth date, roles, occupation … of a person template | a person of the case |
//! | an entity of an intervention template (Intervention, Appeal, Communication, Submission, Letter, Petition; Spanish, French), or a row of a file of intervention columns or named for them (`interventions.csv`) | an intervention of the case, titled as the entity |
//! | Mechanism (a code or a label, any language, of the mechanisms vocabulary) | the intervention's mechanism; another value: kept |
//! | Intervention type (`Urgent appeal`, `allegation_letter`, `Other` …), Intervention status (`Sent` …; a Status column too, where its value is one) | the intervention's type and status; another value: kept |
//! | Sent on (or the entity's date, in a file without one), Follow-up | the intervention's date and follow-up (a month, a year or a range: its first day, and the text kept) |
//! | Reference, Response, Channel | the intervention's reference, response, channel |
//! | Incidents (titles of incidents read before it) | the incidents the intervention concerns |
//! | `case` relationship of a person or an intervention, naming a case read before it | the person or intervention goes into that case (no case of its own; what the case would take is kept, in a note about it); else the entity makes its own case and the name is kept |
//! | Documents (`/files/x`), `file`, Attachments (URLs or names) | files found beside the CSV (or in `files/`, or in the zip) |
//! | `id` | the original id |
//! | anything else, and every value above that found no home | [`Unit::unmapped`] |
//!
//! A unit has an incident when the row has a date, a place or an act type (an
//! intervention's date is the date it was sent, not an incident's).
//!
//! A unit is the entity's case and its records; a person or an intervention whose case
//! was read before it is a unit without a case, its first record the person or the
//! intervention, whose `case_id` names that case. The case keeps one note of unmapped
//! fields, its own entity's: the fields of an entity that went into it are a note of the
//! unit's own, about the person or intervention, and [`Unit::unmapped`] is empty.

mod values;

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use chrono::NaiveDate;
use custos_model::{
    Case, CaseStatus, Confidentiality, FuzzyDate, Incident, Intervention, InterventionStatus,
    InterventionType, Location, Note, Person, Record, Role,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{Field, FileItem, FileSource, Item, Problem, Sink, Stopped, Tool, Unit};

/// What a column of an Uwazi CSV is taken for, from its header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    /// The entity's title (`Title`, `title`, `title__es`).
    Title,
    /// `Date added`: when the entity was made in Uwazi.
    DateAdded,
    /// `Template`: the entity's template, made the case's tag.
    Template,
    /// `Documents` (export) or `file` (import): the main documents.
    Documents,
    /// `Attachments`: supporting files.
    Attachments,
    /// `Published`: published or not.
    Published,
    /// `id`: the entity's sharedId (import files).
    SharedId,
    /// A description or summary: the case's summary.
    Summary,
    /// Tags or keywords: the case's tags.
    Tags,
    /// The case's status (`Open`, `Monitoring`, `Closed`).
    Status,
    /// The case's confidentiality (`Public`, `Restricted`, `Confidential`).
    Confidentiality,
    /// The documenter responsible: the case's owner.
    Owner,
    /// A date of the incident (its start, or a range).
    StartDate,
    /// The incident's end date.
    EndDate,
    /// The precision of the incident's dates (`day`, `month`, `year`, `approximate`).
    DatePrecision,
    /// A geolocation property (`lat|lon`).
    Geolocation,
    /// A place: a geolocation or a place name.
    Place,
    /// A region or province.
    Region,
    /// A country.
    Country,
    /// Violations or types of act: the incident's act types.
    ActTypes,
    /// A relationship: titles of related entities.
    Related,
    /// A person's detail: kept on the person an entity of a person template (or of a
    /// file with person columns) becomes, else kept as it is.
    Person(PersonField),
    /// An intervention's detail: kept on the intervention an entity of an intervention
    /// template (or of a file of intervention columns) becomes, else kept as it is.
    Intervention(InterventionField),
    /// The `case` relationship: the title of the case an entity belongs to. A person or
    /// an intervention naming a case read before it goes into that case.
    Case,
    /// Anything else: kept as it is.
    Other,
}

/// A column of an intervention (`Mechanism`, `Sent on`, `Reference` …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InterventionField {
    /// The protection mechanism: a code or label of the `mechanisms` vocabulary.
    Mechanism,
    /// Urgent appeal, allegation letter or other.
    Kind,
    /// When it was sent.
    Date,
    /// Where it stands (draft, sent, acknowledged, responded, closed).
    Status,
    /// The mechanism's reference number.
    Reference,
    /// What the mechanism or the state answered.
    Response,
    /// How it was sent.
    Channel,
    /// When to follow it up next.
    FollowUp,
}

/// A column of a person (`Sex`, `Birth date`, `Occupation` …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PersonField {
    /// Sex or gender.
    Sex,
    /// Date of birth.
    BirthDate,
    /// Occupation or profession.
    Occupation,
    /// Organisation or affiliation.
    Organisation,
    /// Citizenship or nationality.
    Citizenship,
    /// Residence.
    Residence,
    /// Other names, `|`-joined.
    OtherNames,
    /// Roles (victim, perpetrator, witness, source, intervening party).
    Roles,
    /// Whether it is a group.
    Group,
    /// How many people the group is.
    GroupSize,
    /// The human rights work they do.
    HumanRightsWork,
}

/// The column a header names (its language suffix, if any, taken off first).
pub fn column(header: &str) -> Column {
    let (base, _) = values::split_language(header.trim());
    let w = values::words(base);
    let joined = w.join(" ");
    let has = |pred: &dyn Fn(&str) -> bool| w.iter().any(|x| pred(x));
    match joined.as_str() {
        "title" | "título" | "titulo" | "titre" => return Column::Title,
        "date added" | "creationdate" | "creation date" | "fecha de creación"
        | "fecha de creacion" | "date d ajout" => return Column::DateAdded,
        "template" | "plantilla" | "modèle" | "modele" => return Column::Template,
        "documents" | "document" | "file" | "files" | "documentos" | "fichiers" => {
            return Column::Documents
        }
        "attachments" | "attachment" | "adjuntos" | "archivos adjuntos" | "pièces jointes"
        | "pieces jointes" | "supporting files" => return Column::Attachments,
        "published" | "publicado" | "publié" | "publie" => return Column::Published,
        "id" | "sharedid" | "shared id" => return Column::SharedId,
        "tags" | "tag" | "etiquetas" | "keywords" | "palabras clave" | "mots clés"
        | "mots cles" => return Column::Tags,
        "status" | "case status" | "estado del caso" | "statut" => return Column::Status,
        "confidentiality" | "confidencialidad" | "confidentialité" | "confidentialite" => {
            return Column::Confidentiality
        }
        "owner" | "documenter" | "responsable" => return Column::Owner,
        "case" | "cases" | "caso" | "casos" | "cas" | "affaire" | "related case" => {
            return Column::Case
        }
        _ => {}
    }
    if let Some(f) = intervention_field(&joined, &w) {
        return Column::Intervention(f);
    }
    if let Some(f) = person_field(&joined, &w) {
        return Column::Person(f);
    }
    if has(&|x| x.starts_with("precision") || x.starts_with("précision")) {
        return Column::DatePrecision;
    }
    let datey = has(&|x| {
        matches!(
            x,
            "date"
                | "dates"
                | "fecha"
                | "fechas"
                | "when"
                | "période"
                | "periode"
                | "period"
                | "periodo"
                | "day"
        )
    });
    let birth = has(&|x| {
        matches!(
            x,
            "birth" | "dob" | "born" | "nacimiento" | "naissance" | "added" | "creation"
        )
    });
    if datey && !birth {
        let end = has(&|x| matches!(x, "end" | "final" | "fin" | "to" | "until" | "hasta"));
        return if end {
            Column::EndDate
        } else {
            Column::StartDate
        };
    }
    if has(&|x| {
        x.starts_with("geo") || x.starts_with("coord") || matches!(x, "gps" | "latlon" | "latlng")
    }) {
        return Column::Geolocation;
    }
    if has(&|x| {
        x.starts_with("violat")
            || x.starts_with("violac")
            || x.starts_with("abuse")
            || x.starts_with("crime")
            || matches!(
                x,
                "act" | "acts" | "actos" | "actes" | "offence" | "offense"
            )
    }) {
        return Column::ActTypes;
    }
    if has(&|x| {
        x.starts_with("summar")
            || x.starts_with("descri")
            || matches!(
                x,
                "resumen"
                    | "résumé"
                    | "resume"
                    | "details"
                    | "detalles"
                    | "narrative"
                    | "narrativa"
                    | "synopsis"
            )
    }) {
        return Column::Summary;
    }
    if has(&|x| {
        matches!(
            x,
            "country" | "país" | "pais" | "pays" | "countries" | "paises" | "países"
        )
    }) {
        return Column::Country;
    }
    if has(&|x| {
        matches!(
            x,
            "region"
                | "región"
                | "région"
                | "province"
                | "provincia"
                | "department"
                | "departamento"
                | "state"
                | "district"
                | "distrito"
                | "municipality"
                | "municipio"
        )
    }) {
        return Column::Region;
    }
    if has(&|x| {
        matches!(
            x,
            "location"
                | "place"
                | "lugar"
                | "ubicación"
                | "ubicacion"
                | "lieu"
                | "localisation"
                | "localidad"
                | "site"
                | "village"
                | "city"
                | "town"
                | "ciudad"
                | "address"
        )
    }) {
        return Column::Place;
    }
    if has(&|x| {
        x.starts_with("relat") || x.starts_with("relac") || matches!(x, "linked" | "connected")
    }) {
        return Column::Related;
    }
    Column::Other
}

fn person_field(joined: &str, w: &[String]) -> Option<PersonField> {
    use PersonField::*;
    let born = w.iter().any(|x| {
        matches!(
            x.as_str(),
            "birth" | "dob" | "born" | "nacimiento" | "naissance" | "birthdate" | "birthday"
        )
    });
    if born {
        return Some(BirthDate);
    }
    Some(match joined {
        "sex" | "gender" | "sexo" | "género" | "genero" | "sexe" | "genre" => Sex,
        "occupation" | "profession" | "ocupación" | "ocupacion" | "profesión" | "profesion"
        | "métier" | "metier" => Occupation,
        "organisation" | "organization" | "affiliation" | "organización" | "organizacion" => {
            Organisation
        }
        "citizenship" | "nationality" | "nacionalidad" | "nationalité" | "nationalite"
        | "ciudadanía" | "ciudadania" => Citizenship,
        "residence" | "residencia" | "résidence" | "domicile" | "domicilio" => Residence,
        "other names" | "aliases" | "alias" | "otros nombres" | "autres noms" => OtherNames,
        "roles" | "role" | "rol" | "rôle" | "rôles" => Roles,
        "group" | "grupo" | "groupe" | "is group" => Group,
        "group size" | "number of persons" | "tamaño del grupo" | "taille du groupe" => GroupSize,
        "human rights work" | "trabajo de derechos humanos" => HumanRightsWork,
        _ => return None,
    })
}

fn intervention_field(joined: &str, w: &[String]) -> Option<InterventionField> {
    use InterventionField::*;
    if w.iter().any(|x| {
        x.starts_with("mechanism") || x.starts_with("mecanism") || x.starts_with("mécanism")
    }) {
        return Some(Mechanism);
    }
    Some(match joined {
        "intervention type"
        | "type of intervention"
        | "type"
        | "kind"
        | "communication type"
        | "type of communication"
        | "appeal type"
        | "tipo"
        | "tipo de intervención"
        | "tipo de intervencion"
        | "type d intervention" => Kind,
        "sent on" | "sent" | "date sent" | "sent date" | "date of sending" | "submitted on"
        | "date submitted" | "submission date" | "fecha de envío" | "fecha de envio"
        | "enviado el" | "envoyé le" | "envoye le" | "date d envoi" => Date,
        "intervention status"
        | "status of intervention"
        | "appeal status"
        | "estado de la intervención"
        | "estado de la intervencion"
        | "statut de l intervention" => Status,
        "reference"
        | "ref"
        | "reference number"
        | "reference no"
        | "reference code"
        | "referencia"
        | "número de referencia"
        | "numero de referencia"
        | "référence" => Reference,
        "response"
        | "responses"
        | "reply"
        | "answer"
        | "state response"
        | "government response"
        | "respuesta"
        | "réponse"
        | "reponse" => Response,
        "channel" | "sent via" | "canal" => Channel,
        "follow up"
        | "next follow up"
        | "follow up date"
        | "follow up on"
        | "seguimiento"
        | "fecha de seguimiento"
        | "suivi"
        | "relance"
        | "date de suivi" => FollowUp,
        _ => return None,
    })
}

/// Whether a template (or a file's name) names interventions (`Intervention`,
/// `Urgent appeal`, `Comunicaciones`, `Lettres` …).
fn intervention_template(template: &str) -> bool {
    values::words(template).iter().any(|x| {
        matches!(
            x.as_str(),
            "intervention"
                | "interventions"
                | "appeal"
                | "appeals"
                | "communication"
                | "communications"
                | "submission"
                | "submissions"
                | "letter"
                | "letters"
                | "petition"
                | "petitions"
                | "intervención"
                | "intervencion"
                | "intervenciones"
                | "llamamiento"
                | "llamamientos"
                | "comunicación"
                | "comunicacion"
                | "comunicaciones"
                | "carta"
                | "cartas"
                | "petición"
                | "peticion"
                | "peticiones"
                | "appel"
                | "appels"
                | "lettre"
                | "lettres"
                | "pétition"
                | "pétitions"
                | "requête"
                | "requete"
                | "saisine"
        )
    })
}

/// Whether a template names people (`Person`, `Víctimas`, `Defenders` …).
fn person_template(template: &str) -> bool {
    values::words(template).iter().any(|x| {
        matches!(
            x.as_str(),
            "person"
                | "persons"
                | "people"
                | "individual"
                | "individuals"
                | "persona"
                | "personas"
                | "personne"
                | "personnes"
                | "victim"
                | "victims"
                | "víctima"
                | "víctimas"
                | "victima"
                | "victimas"
                | "victime"
                | "victimes"
                | "perpetrator"
                | "perpetrators"
                | "perpetrador"
                | "witness"
                | "witnesses"
                | "testigo"
                | "testigos"
                | "defender"
                | "defenders"
                | "defensor"
                | "defensora"
                | "defensores"
        )
    })
}

/// Reads the export at `path` (an Uwazi CSV, a folder holding one, or a zip with
/// `import.csv`) into units.
pub fn read(path: &Path, sink: &mut dyn Sink) -> Result<(), Stopped> {
    let input = match Input::find(path) {
        Ok(i) => i,
        Err(p) => {
            sink.problem(p);
            return Ok(());
        }
    };
    let name = input.display_name();
    match &input {
        Input::Plain { csv, .. } => {
            let file = match File::open(csv) {
                Ok(f) => f,
                Err(e) => {
                    sink.problem(Problem::new(&name, format!("cannot be opened: {e}")));
                    return Ok(());
                }
            };
            let total = file.metadata().map(|m| m.len()).unwrap_or(0);
            Reader::new(&input, name, sink).run(BufReader::new(file), total)
        }
        Input::Zip { archive, entry, .. } => {
            let opened = File::open(archive)
                .map_err(|e| e.to_string())
                .and_then(|f| zip::ZipArchive::new(f).map_err(|e| e.to_string()));
            let mut zip = match opened {
                Ok(z) => z,
                Err(e) => {
                    sink.problem(Problem::new(
                        archive.display().to_string(),
                        format!("not a readable zip archive: {e}"),
                    ));
                    return Ok(());
                }
            };
            let file = match zip.by_name(entry) {
                Ok(f) => f,
                Err(e) => {
                    sink.problem(Problem::new(&name, format!("cannot be read: {e}")));
                    return Ok(());
                }
            };
            let total = file.size();
            Reader::new(&input, name, sink).run(file, total)
        }
    }
}

/// Where the CSV and its files are.
enum Input {
    /// A CSV file; files named in it are looked for in `dir`.
    Plain { csv: PathBuf, dir: PathBuf },
    /// A zip archive: the CSV entry and the names of all entries.
    Zip {
        archive: PathBuf,
        entry: String,
        names: HashSet<String>,
    },
}

impl Input {
    fn find(path: &Path) -> Result<Input, Problem> {
        let at = path.display().to_string();
        if path.is_dir() {
            let mut csvs: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| Problem::new(&at, format!("cannot be read: {e}")))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_file() && p.extension().is_some_and(|x| x.eq_ignore_ascii_case("csv"))
                })
                .collect();
            csvs.sort();
            let pick = csvs
                .iter()
                .find(|p| p.file_name().is_some_and(|n| n == "import.csv"))
                .cloned()
                .or_else(|| (csvs.len() == 1).then(|| csvs[0].clone()));
            return match pick {
                Some(csv) => Ok(Input::Plain {
                    csv,
                    dir: path.to_path_buf(),
                }),
                None if csvs.is_empty() => {
                    Err(Problem::new(&at, "no Uwazi CSV file in this folder"))
                }
                None => Err(Problem::new(
                    &at,
                    format!(
                        "{} CSV files in this folder and none is import.csv: choose one",
                        csvs.len()
                    ),
                )),
            };
        }
        if !path.is_file() {
            return Err(Problem::new(&at, "no such file"));
        }
        let is_zip = path
            .extension()
            .is_some_and(|x| x.eq_ignore_ascii_case("zip"));
        if !is_zip {
            return Ok(Input::Plain {
                csv: path.to_path_buf(),
                dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
            });
        }
        let file =
            File::open(path).map_err(|e| Problem::new(&at, format!("cannot be opened: {e}")))?;
        let zip = zip::ZipArchive::new(file)
            .map_err(|e| Problem::new(&at, format!("not a readable zip archive: {e}")))?;
        let names: HashSet<String> = zip
            .file_names()
            .filter_map(|n| n.ok().map(|n| n.into_owned()))
            .collect();
        // Uwazi's import takes the entities from `import.csv` in a zip, and nothing else.
        if !names.contains("import.csv") {
            let mut csvs: Vec<&str> = names
                .iter()
                .filter(|n| n.to_ascii_lowercase().ends_with(".csv"))
                .map(String::as_str)
                .collect();
            csvs.sort_unstable();
            return Err(Problem::new(
                &at,
                format!(
                    "no import.csv in this zip: Uwazi reads the entities from import.csv (this zip holds {})",
                    if csvs.is_empty() {
                        "no CSV file".to_owned()
                    } else {
                        csvs.join(", ")
                    }
                ),
            ));
        }
        let entry = "import.csv".to_owned();
        Ok(Input::Zip {
            archive: path.to_path_buf(),
            entry,
            names,
        })
    }

    fn display_name(&self) -> String {
        match self {
            Input::Plain { csv, .. } => csv
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| csv.display().to_string()),
            Input::Zip { archive, entry, .. } => format!(
                "{}:{entry}",
                archive
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ),
        }
    }

    /// Where the bytes of a file the CSV names are, if the export holds it.
    fn locate(&self, name: &str) -> Option<FileSource> {
        const FOLDERS: [&str; 4] = ["", "files/", "documents/", "attachments/"];
        match self {
            Input::Plain { dir, .. } => FOLDERS.iter().find_map(|f| {
                let p = dir.join(format!("{f}{name}"));
                p.is_file().then_some(FileSource::Path(p))
            }),
            Input::Zip { archive, names, .. } => FOLDERS.iter().find_map(|f| {
                let e = format!("{f}{name}");
                names.contains(&e).then(|| FileSource::Zip {
                    archive: archive.clone(),
                    entry: e,
                })
            }),
        }
    }
}

/// A reader that counts the bytes read and remembers the last one (to tell a file
/// cut off in its last line).
struct Counted<R> {
    inner: R,
    count: Rc<Cell<u64>>,
    last: Rc<Cell<Option<u8>>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            self.count.set(self.count.get() + n as u64);
            self.last.set(Some(buf[n - 1]));
        }
        Ok(n)
    }
}

/// One pass over the CSV.
struct Reader<'a> {
    input: &'a Input,
    name: String,
    sink: &'a mut dyn Sink,
    /// Titles of the entities read so far (hashed) → their case and incident.
    earlier: HashMap<u64, (Uuid, Option<Uuid>)>,
    /// Original ids given so far (hashed) → how many times, and the first line.
    ids: HashMap<u64, (u32, u64)>,
    /// The file's columns are a person's.
    person_file: bool,
    /// The file's columns (or its name) are an intervention's.
    intervention_file: bool,
    /// The file has a column of the date an intervention was sent.
    has_sent: bool,
    /// Titles of the cases entities made so far (hashed) → the case: a person or an
    /// intervention naming one goes into it.
    cases: HashMap<u64, Uuid>,
}

/// A row as read: the line after it, the line breaks inside its cells, its cells.
struct Row {
    line_after: u64,
    newlines: u64,
    cells: csv::StringRecord,
}

impl<'a> Reader<'a> {
    fn new(input: &'a Input, name: String, sink: &'a mut dyn Sink) -> Reader<'a> {
        Reader {
            input,
            name,
            sink,
            earlier: HashMap::new(),
            ids: HashMap::new(),
            person_file: false,
            intervention_file: false,
            has_sent: false,
            cases: HashMap::new(),
        }
    }

    fn run(mut self, raw: impl Read, total: u64) -> Result<(), Stopped> {
        let count = Rc::new(Cell::new(0));
        let last = Rc::new(Cell::new(None));
        let mut counted = Counted {
            inner: raw,
            count: count.clone(),
            last: last.clone(),
        };
        // Uwazi reads `,` or `;` as the separator: told apart on the header line.
        let mut head = Vec::new();
        if let Err(e) = (&mut counted).take(64 * 1024).read_to_end(&mut head) {
            self.sink
                .problem(Problem::new(&self.name, format!("cannot be read: {e}")));
            return Ok(());
        }
        let delimiter = sniff_delimiter(&head);
        let stream = std::io::Cursor::new(head).chain(counted);
        let mut csv = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .has_headers(false)
            .from_reader(stream);

        let mut record = csv::StringRecord::new();
        let headers: Vec<String> = match csv.read_record(&mut record) {
            Ok(false) => {
                self.sink.problem(Problem::new(
                    &self.name,
                    "the export is empty: no header line, no entity",
                ));
                return Ok(());
            }
            Err(e) => {
                self.sink.problem(Problem::new(
                    format!("{} line 1", self.name),
                    format!("the header line cannot be read: {}", csv_error(&e)),
                ));
                return Ok(());
            }
            Ok(true) => record
                .iter()
                .map(|c| c.trim_start_matches('\u{feff}').trim().to_owned())
                .collect(),
        };
        let columns: Vec<Column> = headers.iter().map(|h| column(h)).collect();
        // Two kinds of person column or more: a file of people (a person template).
        let kinds: HashSet<PersonField> = columns
            .iter()
            .filter_map(|c| match c {
                Column::Person(f) => Some(*f),
                _ => None,
            })
            .collect();
        self.person_file = kinds.len() >= 2;
        let intervention_kinds: HashSet<InterventionField> = columns
            .iter()
            .filter_map(|c| match c {
                Column::Intervention(f) => Some(*f),
                _ => None,
            })
            .collect();
        let stem = match self.input {
            Input::Plain { csv, .. } => csv.file_stem(),
            Input::Zip { archive, .. } => archive.file_stem(),
        }
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
        self.intervention_file = intervention_kinds.len() >= 2 || intervention_template(&stem);
        self.has_sent = intervention_kinds.contains(&InterventionField::Date);
        if !columns.contains(&Column::Title) {
            self.sink.problem(Problem::new(
                format!("{} line 1", self.name),
                format!(
                    "no Title column: an Uwazi CSV names every entity in a column \"Title\" (export) or \"title\" (import); the columns are {}",
                    headers.join(", ")
                ),
            ));
            return Ok(());
        }
        let mut seen_header = HashSet::new();
        for h in &headers {
            if !h.is_empty() && !seen_header.insert(h.to_lowercase()) {
                self.sink.problem(Problem::new(
                    format!("{} line 1", self.name),
                    format!("the column \"{h}\" is there twice"),
                ));
            }
        }

        // Each row is handled once the next is read, to know which one is the last.
        let mut pending: Option<Row> = None;
        let mut n = 0u64;
        loop {
            let mut cells = csv::StringRecord::new();
            let read = csv.read_record(&mut cells);
            let line_after = csv.position().line();
            let row = match read {
                Ok(false) => break,
                Ok(true) => {
                    let newlines = cells
                        .iter()
                        .map(|c| c.bytes().filter(|&b| b == b'\n').count() as u64)
                        .sum();
                    Row {
                        line_after,
                        newlines,
                        cells,
                    }
                }
                Err(e) => {
                    let line = e.position().map_or(line_after, |p| p.line());
                    self.sink.problem(Problem::new(
                        format!("{} line {line}", self.name),
                        format!("this row cannot be read: {}", csv_error(&e)),
                    ));
                    if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                        return Ok(());
                    }
                    continue;
                }
            };
            if let Some(prev) = pending.replace(row) {
                n += 1;
                self.row(prev, &headers, &columns, false)?;
                if n.is_multiple_of(64) {
                    self.sink.progress(count.get(), total.max(count.get()));
                }
            }
        }
        if let Some(prev) = pending {
            n += 1;
            let cut = last.get().is_some_and(|b| b != b'\n' && b != b'\r');
            self.row(prev, &headers, &columns, cut)?;
        }
        if n == 0 {
            self.sink.problem(Problem::new(
                &self.name,
                "the export holds no entity: a header line and no row",
            ));
        }
        self.sink.progress(count.get(), total.max(count.get()));
        Ok(())
    }

    /// One row: checked, made into a unit.
    fn row(
        &mut self,
        row: Row,
        headers: &[String],
        columns: &[Column],
        last_without_newline: bool,
    ) -> Result<(), Stopped> {
        // The line it starts on (blank lines before it are skipped by the CSV reader).
        let ended = u64::from(!last_without_newline);
        let line = row.line_after.saturating_sub(row.newlines + ended).max(2);
        let at = format!("{} line {line}", self.name);
        let cells = &row.cells;
        if cells.iter().all(|c| c.trim().is_empty()) {
            return Ok(());
        }
        if cells.len() > headers.len() {
            self.sink.problem(Problem::new(
                &at,
                format!(
                    "{} cells where the header has {} columns: the extra cells ({}) belong to no column",
                    cells.len(),
                    headers.len(),
                    cells
                        .iter()
                        .skip(headers.len())
                        .map(|c| format!("\"{}\"", c.trim()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
            return Ok(());
        }
        if cells.len() < headers.len() && last_without_newline {
            self.sink.problem(Problem::new(
                &at,
                format!(
                    "the file ends in the middle of this row ({} of {} cells): it is cut off",
                    cells.len(),
                    headers.len()
                ),
            ));
            return Ok(());
        }
        // A row with fewer cells than the header has the rest empty, as Uwazi reads it.
        let cell = |i: usize| cells.get(i).map(str::trim).unwrap_or("");

        let mut b = Built::default();
        let mut title = String::new();
        let mut template = String::new();
        let mut date_added = String::new();
        let mut shared_id = String::new();
        for (i, col) in columns.iter().enumerate() {
            let v = cell(i);
            if v.is_empty() {
                continue;
            }
            let header = headers[i].as_str();
            match col {
                Column::Title if title.is_empty() => title = v.to_owned(),
                Column::Template if template.is_empty() => template = v.to_owned(),
                Column::DateAdded if date_added.is_empty() => {
                    date_added = v.to_owned();
                    b.keep(header, v);
                }
                Column::SharedId if shared_id.is_empty() => shared_id = v.to_owned(),
                _ => {}
            }
        }
        if title.is_empty() {
            self.sink.problem(Problem::new(
                &at,
                "no title: every Uwazi entity has one, and the case needs it",
            ));
            return Ok(());
        }

        // The original id, and the ids of the unit.
        let original_id = if shared_id.is_empty() {
            let mut h = Sha256::new();
            h.update(template.as_bytes());
            h.update([0x1f]);
            h.update(title.as_bytes());
            h.update([0x1f]);
            h.update(date_added.as_bytes());
            let hex: String = h.finalize()[..16]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            let seen = self.ids.entry(hash(&hex)).or_insert((0, line));
            seen.0 += 1;
            if seen.0 == 1 {
                format!("hash:{hex}")
            } else {
                format!("hash:{hex}#{}", seen.0)
            }
        } else {
            let seen = self.ids.entry(hash(&shared_id)).or_insert((0, line));
            seen.0 += 1;
            if seen.0 > 1 {
                let first = seen.1;
                self.sink.problem(Problem::new(
                    &at,
                    format!(
                        "the id {shared_id} was given already to the entity of line {first}: two rows cannot be one entity"
                    ),
                ));
                return Ok(());
            }
            shared_id.clone()
        };
        let key = |part: &str| Tool::Uwazi.id(&format!("entity/{original_id}/{part}"));
        let own_case = key("case");

        // Every other column.
        // A person: of a person template; or, where rows say no template (an import
        // file), in a file of person columns; or with two kinds of person detail filled.
        let row_kinds: HashSet<PersonField> = columns
            .iter()
            .enumerate()
            .filter_map(|(i, c)| match c {
                Column::Person(f) if !cell(i).is_empty() => Some(*f),
                _ => None,
            })
            .collect();
        // An intervention: of an intervention template; or, where rows say no template,
        // in a file of intervention columns or named for them (`interventions.csv`).
        let intervention_mode = intervention_template(&template)
            || (template.is_empty() && self.intervention_file && !self.person_file);
        let person_mode = !intervention_mode
            && (person_template(&template)
                || (template.is_empty() && self.person_file)
                || row_kinds.len() >= 2);
        // A date of an intervention without a column of the date sent: the date sent.
        const SENT: Column = Column::Intervention(InterventionField::Date);
        let mut problems = Vec::new();
        for (i, col) in columns.iter().enumerate() {
            let v = cell(i);
            if v.is_empty() {
                continue;
            }
            let header = headers[i].as_str();
            let place = format!("{at}, column \"{header}\"");
            let col = match col {
                Column::StartDate if intervention_mode && !self.has_sent => &SENT,
                c => c,
            };
            // What the entity's own case takes: kept as written should the entity go
            // into a case read before it.
            if matches!(
                col,
                Column::Template
                    | Column::Published
                    | Column::Tags
                    | Column::Confidentiality
                    | Column::Owner
                    | Column::Summary
            ) || (*col == Column::Status
                && !(intervention_mode && values::intervention_status(v).is_some()))
            {
                b.case_cells.push(Field {
                    name: header.to_owned(),
                    value: v.to_owned(),
                });
            }
            match col {
                Column::Title => {
                    if v != title {
                        b.keep(header, v);
                    }
                }
                Column::Template => {
                    if v != template {
                        b.keep(header, v);
                    }
                }
                Column::DateAdded => {
                    if v != date_added {
                        b.keep(header, v);
                    }
                }
                Column::SharedId => {
                    if v != shared_id {
                        b.keep(header, v);
                    }
                }
                Column::Published => match v.to_lowercase().as_str() {
                    "published" | "publicado" | "publié" | "publie" | "true" | "yes" => {
                        b.confidentiality = Some(Confidentiality::Public)
                    }
                    "unpublished" | "no publicado" | "non publié" | "non publie" | "false"
                    | "no" => b.confidentiality = Some(Confidentiality::Restricted),
                    _ => b.keep(header, v),
                },
                Column::Tags => {
                    for t in values::parts(v) {
                        if !b.tags.iter().any(|x| x == t) {
                            b.tags.push(t.to_owned());
                        }
                    }
                }
                Column::Status
                    if intervention_mode
                        && b.intervention.status.is_none()
                        && values::intervention_status(v).is_some() =>
                {
                    b.intervention.status = values::intervention_status(v);
                }
                Column::Status => match v.to_lowercase().as_str() {
                    "open" | "abierto" | "ouvert" => b.status = Some(CaseStatus::Open),
                    "monitoring" | "seguimiento" | "suivi" => {
                        b.status = Some(CaseStatus::Monitoring)
                    }
                    "closed" | "cerrado" | "clos" | "fermé" => b.status = Some(CaseStatus::Closed),
                    _ => b.keep(header, v),
                },
                Column::Confidentiality => match v.to_lowercase().as_str() {
                    "public" | "público" | "publico" => {
                        b.confidentiality = Some(Confidentiality::Public)
                    }
                    "restricted" | "restringido" | "restreint" => {
                        b.confidentiality = Some(Confidentiality::Restricted)
                    }
                    "confidential" | "confidencial" | "confidentiel" => {
                        b.confidentiality = Some(Confidentiality::Confidential)
                    }
                    _ => b.keep(header, v),
                },
                Column::Owner => {
                    if b.owner.is_empty() {
                        b.owner = v.to_owned();
                    } else {
                        b.keep(header, v);
                    }
                }
                Column::Summary => {
                    if b.summary.is_empty() {
                        b.summary = v.to_owned();
                    } else {
                        b.keep(header, v);
                    }
                }
                Column::StartDate | Column::EndDate => {
                    let dates: Vec<&str> = values::parts(v);
                    let mut parsed = Vec::new();
                    let mut bad = None;
                    let mut assumed = false;
                    for d in &dates {
                        match values::date_or_range(d) {
                            Ok((from, to, a)) => {
                                assumed |= a;
                                parsed.push((from, to));
                            }
                            Err(()) => bad = Some(*d),
                        }
                    }
                    if let Some(bad) = bad {
                        problems.push(Problem::new(
                            &place,
                            format!(
                                "\"{bad}\" is not a date (Uwazi writes YYYY/MM/DD, YYYY-MM-DD, DD/MM/YYYY, YYYY, a timestamp, or a range from~to)"
                            ),
                        ));
                        continue;
                    }
                    let slot_free = if *col == Column::EndDate {
                        b.end.is_none()
                    } else {
                        b.start.is_none()
                    };
                    let first = parsed.first().copied();
                    match first {
                        Some((from, to)) if slot_free && (from.is_some() || to.is_some()) => {
                            if *col == Column::EndDate {
                                b.end = from.or(to);
                            } else {
                                b.start = from;
                                if to.is_some() && b.end.is_none() {
                                    b.end = to;
                                }
                            }
                            // Several dates or an assumed day/month order: the text too.
                            if parsed.len() > 1 || assumed {
                                b.keep(&format!("{header} (as written)"), v);
                            }
                        }
                        _ => b.keep(header, v),
                    }
                }
                Column::DatePrecision => match v.to_lowercase().as_str() {
                    "day" | "exact" => b.precision = Some(custos_model::Precision::Day),
                    "month" | "month known" => b.precision = Some(custos_model::Precision::Month),
                    "year" | "year known" => b.precision = Some(custos_model::Precision::Year),
                    "approximate" | "about" => {
                        b.precision = Some(custos_model::Precision::Approximate)
                    }
                    _ => b.keep(header, v),
                },
                Column::Geolocation | Column::Place => match values::geolocation(v) {
                    Some((lat, lon)) if b.lat.is_none() => {
                        b.lat = Some(lat);
                        b.lon = Some(lon);
                    }
                    Some(_) => b.keep(header, v),
                    None if *col == Column::Geolocation || values::looks_like_geolocation(v) => {
                        problems.push(Problem::new(
                            &place,
                            format!(
                                "\"{v}\" is not a geolocation: Uwazi writes latitude|longitude, -90 to 90 and -180 to 180"
                            ),
                        ));
                    }
                    None if b.place.is_empty() => b.place = v.to_owned(),
                    None => b.keep(header, v),
                },
                Column::Region => {
                    if b.region.is_empty() {
                        b.region = v.to_owned();
                    } else {
                        b.keep(header, v);
                    }
                }
                Column::Country => {
                    if b.country.is_empty() {
                        b.country = v.to_owned();
                    } else {
                        b.keep(header, v);
                    }
                }
                Column::ActTypes => {
                    let mut unknown = Vec::new();
                    for p in values::parts(v) {
                        match values::act_type(p) {
                            Some(code) => {
                                if !b.acts.contains(&code) {
                                    b.acts.push(code);
                                }
                            }
                            None => unknown.push(p),
                        }
                    }
                    if !unknown.is_empty() {
                        b.keep(header, &unknown.join(" | "));
                    }
                }
                Column::Documents | Column::Attachments => {
                    let kind = if *col == Column::Documents {
                        "document"
                    } else {
                        "attachment"
                    };
                    for p in values::parts(v) {
                        match self.file(p, header, kind) {
                            Ok(Some((name, source, description, metadata))) => b.files.push((
                                header.to_owned(),
                                name,
                                source,
                                description,
                                metadata,
                            )),
                            Ok(None) => b.keep(header, p),
                            Err(m) => problems.push(Problem::new(&place, m)),
                        }
                    }
                }
                Column::Intervention(_) if !intervention_mode => b.keep(header, v),
                Column::Intervention(f) => {
                    let ib = &mut b.intervention;
                    let first = |slot: &mut String, unmapped: &mut Vec<Field>| {
                        if slot.is_empty() {
                            *slot = v.to_owned();
                        } else {
                            unmapped.push(Field {
                                name: header.to_owned(),
                                value: v.to_owned(),
                            });
                        }
                    };
                    match f {
                        InterventionField::Reference => first(&mut ib.reference, &mut b.unmapped),
                        InterventionField::Response => first(&mut ib.response, &mut b.unmapped),
                        InterventionField::Channel => first(&mut ib.channel, &mut b.unmapped),
                        InterventionField::Mechanism => match values::mechanism(v) {
                            Some(code) if ib.mechanism.is_empty() => ib.mechanism = code,
                            _ => b.keep(header, v),
                        },
                        InterventionField::Kind => match values::intervention_type(v) {
                            Some(k) if ib.kind.is_none() => ib.kind = Some(k),
                            _ => b.keep(header, v),
                        },
                        InterventionField::Status => match values::intervention_status(v) {
                            Some(s) if ib.status.is_none() => ib.status = Some(s),
                            _ => b.keep(header, v),
                        },
                        InterventionField::Date | InterventionField::FollowUp => {
                            let slot = if *f == InterventionField::Date {
                                &mut ib.date
                            } else {
                                &mut ib.follow_up
                            };
                            match day_of(v) {
                                Some((d, exact)) if slot.is_none() => {
                                    *slot = Some(d);
                                    if !exact {
                                        b.keep(&format!("{header} (as written)"), v);
                                    }
                                }
                                Some(_) => b.keep(header, v),
                                None => problems.push(Problem::new(
                                    &place,
                                    format!("\"{v}\" is not a date (Uwazi writes YYYY/MM/DD, YYYY-MM-DD, DD/MM/YYYY, YYYY or a timestamp)"),
                                )),
                            }
                        }
                    }
                }
                Column::Case if (person_mode || intervention_mode) && b.case.is_none() => {
                    let parts = values::parts(v);
                    match parts.iter().find_map(|p| self.cases.get(&hash(p))) {
                        Some(&c) => {
                            b.case = Some(c);
                            // The others it names have no home: kept.
                            if parts.len() > 1 {
                                b.keep(header, &format!("Related: {}", parts.join(" | ")));
                            }
                        }
                        // A case not read before: the entity makes its own.
                        None => b.keep(header, v),
                    }
                }
                Column::Person(_) if !person_mode => b.keep(header, v),
                Column::Person(f) => {
                    let pb = &mut b.person;
                    let first = |slot: &mut String, unmapped: &mut Vec<Field>| {
                        if slot.is_empty() {
                            *slot = v.to_owned();
                        } else {
                            unmapped.push(Field {
                                name: header.to_owned(),
                                value: v.to_owned(),
                            });
                        }
                    };
                    match f {
                        PersonField::Sex => first(&mut pb.sex, &mut b.unmapped),
                        PersonField::Occupation => first(&mut pb.occupation, &mut b.unmapped),
                        PersonField::Organisation => {
                            first(&mut pb.organisation, &mut b.unmapped)
                        }
                        PersonField::Citizenship => first(&mut pb.citizenship, &mut b.unmapped),
                        PersonField::Residence => first(&mut pb.residence, &mut b.unmapped),
                        PersonField::HumanRightsWork => {
                            first(&mut pb.human_rights_work, &mut b.unmapped)
                        }
                        PersonField::OtherNames => pb
                            .other_names
                            .extend(values::parts(v).into_iter().map(str::to_owned)),
                        PersonField::BirthDate => match values::date(v) {
                            Some((d, assumed)) if pb.birth.is_none() => {
                                pb.birth = Some(d);
                                if assumed {
                                    b.keep(&format!("{header} (as written)"), v);
                                }
                            }
                            Some(_) => b.keep(header, v),
                            None => problems.push(Problem::new(
                                &place,
                                format!("\"{v}\" is not a date of birth (Uwazi writes YYYY/MM/DD, YYYY-MM-DD, DD/MM/YYYY or YYYY)"),
                            )),
                        },
                        PersonField::Roles => {
                            let mut unknown = Vec::new();
                            for r in values::parts(v) {
                                match role(r) {
                                    Some(role) if !pb.roles.contains(&role) => pb.roles.push(role),
                                    Some(_) => {}
                                    None => unknown.push(r),
                                }
                            }
                            if !unknown.is_empty() {
                                b.keep(header, &unknown.join(" | "));
                            }
                        }
                        PersonField::Group => match v.to_lowercase().as_str() {
                            "yes" | "sí" | "si" | "oui" | "true" => pb.group = Some(true),
                            "no" | "non" | "false" => pb.group = Some(false),
                            _ => b.keep(header, v),
                        },
                        PersonField::GroupSize => match v.parse::<u32>() {
                            Ok(n) => pb.group_size = Some(n),
                            Err(_) => b.keep(header, v),
                        },
                    }
                }
                Column::Related | Column::Other | Column::Case => {
                    let parts = values::parts(v);
                    let mut links = Vec::new();
                    for p in &parts {
                        if *p == title {
                            continue;
                        }
                        if let Some(&target) = self.earlier.get(&hash(p)) {
                            links.push(target);
                        }
                    }
                    if *col == Column::Related || !links.is_empty() {
                        b.keep(header, &format!("Related: {}", parts.join(" | ")));
                    } else {
                        b.keep(header, v);
                    }
                    if !links.is_empty() {
                        b.links.push((header.to_owned(), parts.join(" | "), links));
                    }
                }
            }
        }
        let bad = !problems.is_empty();
        for p in problems {
            self.sink.problem(p);
        }
        if bad {
            return Ok(());
        }

        // The records: the entity's own case, unless it goes into one read before it
        // (then what the case would have taken is kept as written).
        let case_id = b.case.unwrap_or(own_case);
        let mut records = Vec::new();
        if b.case.is_some() {
            for f in std::mem::take(&mut b.case_cells) {
                if !b.unmapped.contains(&f) {
                    b.unmapped.push(f);
                }
            }
        } else {
            records.push(Item {
                id: case_id,
                record: Record::Case(Case {
                    title: title.clone(),
                    summary: b.summary.clone(),
                    tags: {
                        let mut tags = Vec::new();
                        if !template.is_empty() {
                            tags.push(template.clone());
                        }
                        tags.extend(b.tags.iter().filter(|t| **t != template).cloned());
                        tags
                    },
                    confidentiality: b.confidentiality.unwrap_or_default(),
                    status: b.status.unwrap_or_default(),
                    owner: b.owner.clone(),
                }),
                earlier: Vec::new(),
            });
        }
        let has_place =
            b.lat.is_some() || !b.place.is_empty() || !b.region.is_empty() || !b.country.is_empty();
        let incident_id = (b.start.is_some() || b.end.is_some() || has_place || !b.acts.is_empty())
            .then(|| key("incident"));
        if let Some(p) = b.precision {
            if b.start.is_none() {
                b.keep("Date precision", &format!("{p:?}").to_lowercase());
            }
        }
        let with_precision = |d: Option<FuzzyDate>, precision: Option<custos_model::Precision>| {
            d.map(|d| FuzzyDate {
                date: d.date,
                precision: precision.unwrap_or(d.precision),
            })
        };
        let mut start = with_precision(b.start, b.precision);
        let mut end = with_precision(b.end, b.precision);
        if let (Some(s), Some(e)) = (start, end) {
            if e.date < s.date {
                // Kept as written, in the order the model takes.
                b.keep(
                    "Dates (end before start, swapped)",
                    &format!("{} ~ {}", s.date, e.date),
                );
                start = Some(e);
                end = Some(s);
            }
        }
        let mut related = Vec::new();
        let mut concerns = Vec::new();
        let mut notes = Vec::new();
        for (header, titles, targets) in &b.links {
            let mut about = Vec::new();
            for (target_case, target_incident) in targets {
                match (incident_id, target_incident) {
                    // An intervention names the incidents it concerns.
                    (_, Some(ti)) if intervention_mode => {
                        if !concerns.contains(ti) {
                            concerns.push(*ti);
                        }
                    }
                    (Some(_), Some(ti)) => {
                        if !related.contains(ti) {
                            related.push(*ti);
                        }
                    }
                    _ => about.push(target_incident.unwrap_or(*target_case)),
                }
            }
            if !about.is_empty() {
                notes.push((format!("Related in Uwazi ({header}): {titles}"), about));
            }
        }
        if person_mode {
            let pb = std::mem::take(&mut b.person);
            let is_group = pb.group.unwrap_or(false);
            if !is_group {
                if let Some(n) = pb.group_size {
                    b.keep("Group size", &n.to_string());
                }
            }
            records.push(Item {
                id: key("person"),
                record: Record::Person(Person {
                    case_id,
                    name: title.clone(),
                    other_names: pb.other_names,
                    roles: pb.roles,
                    is_group,
                    group_size: if is_group { pb.group_size } else { None },
                    sex: pb.sex,
                    birth_date: pb.birth,
                    occupation: pb.occupation,
                    organisation: pb.organisation,
                    human_rights_work: pb.human_rights_work,
                    residence: pb.residence,
                    citizenship: pb.citizenship,
                    consent: Default::default(),
                    contact: String::new(),
                }),
                earlier: Vec::new(),
            });
        }
        let main_id = if intervention_mode {
            let ib = std::mem::take(&mut b.intervention);
            let id = key("intervention");
            records.push(Item {
                id,
                record: Record::Intervention(Intervention {
                    case_id,
                    title: title.clone(),
                    mechanism: ib.mechanism,
                    kind: ib.kind.unwrap_or_default(),
                    date: ib.date,
                    status: ib.status.unwrap_or_default(),
                    reference: ib.reference,
                    response: ib.response,
                    incident_ids: concerns,
                    person_ids: Vec::new(),
                    channel: ib.channel,
                    follow_up: ib.follow_up,
                    language: String::new(),
                    form: Vec::new(),
                }),
                earlier: Vec::new(),
            });
            Some(id)
        } else {
            person_mode.then(|| key("person"))
        };
        if let Some(id) = incident_id {
            records.push(Item {
                id,
                record: Record::Incident(Incident {
                    case_id,
                    title: title.clone(),
                    description: String::new(),
                    start,
                    end,
                    location: has_place.then(|| Location {
                        place: b.place.clone(),
                        region: b.region.clone(),
                        country: b.country.clone(),
                        lat: b.lat,
                        lon: b.lon,
                    }),
                    act_types: b.acts.clone(),
                    persons: Vec::new(),
                    related,
                    impact: String::new(),
                }),
                earlier: Vec::new(),
            });
        }
        for (k, (text, about)) in notes.into_iter().enumerate() {
            let mut about = about;
            if let Some(i) = incident_id {
                about.insert(0, i);
            }
            records.push(Item {
                id: key(&format!("note/related/{}", k + 1)),
                record: Record::Note(Note {
                    case_id,
                    text,
                    about,
                }),
                earlier: Vec::new(),
            });
        }
        let files = b
            .files
            .into_iter()
            .map(|(column, name, source, description, metadata)| FileItem {
                id: key(&format!("file/{column}/{name}")),
                case_id,
                attached_to: Vec::new(),
                description,
                source,
                name: name.clone(),
                sha256: None,
                size: None,
                original_id: name,
                created: None,
                metadata,
            })
            .collect();

        self.earlier
            .entry(hash(&title))
            .or_insert((case_id, incident_id));
        if !person_mode && !intervention_mode {
            self.cases.entry(hash(&title)).or_insert(case_id);
        }
        let mut unmapped = b.unmapped;
        if b.case.is_some() && !unmapped.is_empty() {
            // The case keeps one note of unmapped fields, its own entity's: those of an
            // entity that went into it are a note of their own, about the entity.
            records.push(Item {
                id: key("note/unmapped"),
                record: Record::Note(Note {
                    case_id,
                    text: crate::unmapped_note(Tool::Uwazi, &original_id, &unmapped),
                    about: main_id.into_iter().collect(),
                }),
                earlier: Vec::new(),
            });
            unmapped = Vec::new();
        }
        self.sink.unit(Unit {
            original_id,
            at,
            records,
            files,
            unmapped,
        })
    }

    /// A file a Documents/Attachments cell names: `Ok(None)` for a URL the export
    /// points to but does not hold (kept as text, never fetched).
    #[allow(clippy::type_complexity)]
    fn file(
        &self,
        value: &str,
        header: &str,
        kind: &str,
    ) -> Result<Option<(String, FileSource, String, Vec<Field>)>, String> {
        // An export names documents by their address on the Uwazi server (`/files/…`)
        // and attachments by URL: the CSV download holds neither, so they are taken
        // when found beside it and kept as text when not. An import file names files
        // it carries: one missing is a problem.
        let is_url = value.contains("://");
        let on_server = is_url || value.starts_with("/files/");
        let name = if is_url {
            // `https://<host>/api/files/<name>`: the export's attachment link.
            value.rsplit('/').next().unwrap_or("").to_owned()
        } else {
            value.strip_prefix("/files/").unwrap_or(value).to_owned()
        };
        let unsafe_name = name.is_empty()
            || name.contains('\\')
            || name.starts_with('/')
            || name.contains(':')
            || name.split('/').any(|c| c == ".." || c == ".");
        if unsafe_name {
            return if on_server {
                Ok(None)
            } else {
                Err(format!(
                    "\"{value}\" is not a file name the import can take (no folders above the export, no absolute paths)"
                ))
            };
        }
        let mut metadata = vec![Field {
            name: "Uwazi column".into(),
            value: header.to_owned(),
        }];
        if value != name {
            metadata.push(Field {
                name: "Uwazi address".into(),
                value: value.to_owned(),
            });
        }
        let (_, lang) = values::split_language(header);
        if let Some(l) = lang {
            metadata.push(Field {
                name: "Language".into(),
                value: l.to_owned(),
            });
        }
        match self.input.locate(&name) {
            Some(source) => Ok(Some((
                name.clone(),
                source,
                format!("Uwazi {kind} {name}"),
                metadata,
            ))),
            None if on_server => Ok(None),
            None => Err(format!(
                "the {kind} \"{name}\" is named here but is not in the export{}",
                match self.input {
                    Input::Plain { .. } => " (looked for beside the CSV and in files/)",
                    Input::Zip { .. } => " (looked for in the zip and its files/ folder)",
                }
            )),
        }
    }
}

/// What a row gives, gathered before the records are made.
#[derive(Default)]
#[allow(clippy::type_complexity)]
struct Built {
    summary: String,
    tags: Vec<String>,
    status: Option<CaseStatus>,
    owner: String,
    confidentiality: Option<Confidentiality>,
    start: Option<FuzzyDate>,
    end: Option<FuzzyDate>,
    precision: Option<custos_model::Precision>,
    lat: Option<f64>,
    lon: Option<f64>,
    place: String,
    region: String,
    country: String,
    acts: Vec<String>,
    /// Column, titles as written, (case, incident) of each earlier entity named.
    links: Vec<(String, String, Vec<(Uuid, Option<Uuid>)>)>,
    /// Column, name, where, description, metadata.
    files: Vec<(String, String, FileSource, String, Vec<Field>)>,
    unmapped: Vec<Field>,
    person: PersonBits,
    intervention: InterventionBits,
    /// The case read before that the entity goes into.
    case: Option<Uuid>,
    /// The cells its own case would take, as written.
    case_cells: Vec<Field>,
}

/// An intervention's details, for a row of an intervention template.
#[derive(Default)]
struct InterventionBits {
    mechanism: String,
    kind: Option<InterventionType>,
    date: Option<NaiveDate>,
    status: Option<InterventionStatus>,
    reference: String,
    response: String,
    channel: String,
    follow_up: Option<NaiveDate>,
}

/// The day a cell names (its first value, a range's start) and whether it is exactly
/// that day as written (a month, a year, a range, several values or an assumed day/month
/// order are not).
fn day_of(v: &str) -> Option<(NaiveDate, bool)> {
    let parts = values::parts(v);
    let first = parts.first()?;
    let single = parts.len() == 1;
    if let Some((d, assumed)) = values::date(first) {
        return Some((
            d.date,
            single && !assumed && d.precision == custos_model::Precision::Day,
        ));
    }
    match values::date_or_range(first) {
        Ok((Some(from), _, _)) => Some((from.date, false)),
        _ => None,
    }
}

/// A person's details, for a row of a person template.
#[derive(Default)]
struct PersonBits {
    sex: String,
    birth: Option<FuzzyDate>,
    occupation: String,
    organisation: String,
    citizenship: String,
    residence: String,
    human_rights_work: String,
    other_names: Vec<String>,
    roles: Vec<Role>,
    group: Option<bool>,
    group_size: Option<u32>,
}

/// A role named in English, Spanish or French.
fn role(value: &str) -> Option<Role> {
    Some(match value.to_lowercase().as_str() {
        "victim" | "víctima" | "victima" | "victime" => Role::Victim,
        "perpetrator" | "perpetrador" | "auteur" | "alleged perpetrator" => Role::Perpetrator,
        "witness" | "testigo" | "témoin" | "temoin" => Role::Witness,
        "source" | "fuente" => Role::Source,
        "intervening party" | "parte interviniente" | "partie intervenante" => {
            Role::InterveningParty
        }
        _ => return None,
    })
}

impl Built {
    fn keep(&mut self, name: &str, value: &str) {
        self.unmapped.push(Field {
            name: name.to_owned(),
            value: value.to_owned(),
        });
    }
}

fn hash(s: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

/// `;` when the header line has more semicolons than commas outside quotes, else `,`.
fn sniff_delimiter(head: &[u8]) -> u8 {
    let (mut commas, mut semis, mut quoted) = (0, 0, false);
    for &b in head {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            b',' if !quoted => commas += 1,
            b';' if !quoted => semis += 1,
            _ => {}
        }
    }
    if semis > commas {
        b';'
    } else {
        b','
    }
}

fn csv_error(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { err, .. } => {
            format!("cell {} is not UTF-8 text", err.field() + 1)
        }
        csv::ErrorKind::Io(e) => e.to_string(),
        _ => e.to_string(),
    }
}
