//! Contacts: people and companies, prospects and clients.
//!
//! A [`ContactDraft`] holds what a person typed (or a CSV cell held), field by
//! field, as text. [`ContactDraft::validate`] turns it into a [`Contact`] with
//! normalised emails and E.164 phones, or names every field that is wrong. The
//! same setters serve the CLI, the app, updates and CSV import, so a value
//! means the same thing whichever way it came in.

use std::collections::BTreeMap;

use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::details::{Declared, Details};
use crate::error::{CoreError, Result, ValidationError};
use crate::normalize;
use crate::records::Listed;
use crate::records::{self, from_fields, to_fields};
use crate::store::{load_row, Store, Table, WriteTx};

/// Longest text accepted in one field (the synced schema's bound, so the
/// server takes whatever the store accepts).
pub const MAX_FIELD_LEN: usize = crm_protocol::schema::MAX_TEXT;
/// Most custom fields on one contact.
pub const MAX_CUSTOM_FIELDS: usize = crm_protocol::schema::MAX_MAP;
/// Most tags, emails or phones on one contact.
pub const MAX_LIST_ITEMS: usize = crm_protocol::schema::MAX_LIST;

/// Person or company.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ContactKind {
    /// A person.
    #[default]
    Person,
    /// A company.
    Company,
}

/// Where a contact is in the sales cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Not yet a client.
    #[default]
    Prospect,
    /// Holds at least one policy.
    Client,
    /// Was a client.
    Lapsed,
}

impl Stage {
    /// Parse a stage, knowing the names CRMs export (HubSpot lifecycle
    /// stages, Salesforce/Zoho lead statuses, German labels).
    pub fn parse(raw: &str) -> Option<Stage> {
        let t = raw.trim().to_lowercase();
        Some(match t.as_str() {
            "prospect"
            | "lead"
            | "subscriber"
            | "marketingqualifiedlead"
            | "salesqualifiedlead"
            | "marketing qualified lead"
            | "sales qualified lead"
            | "opportunity"
            | "new"
            | "open"
            | "contacted"
            | "qualified"
            | "interessent"
            | "neu"
            | "potenzieller kunde" => Stage::Prospect,
            "client" | "customer" | "kunde" | "evangelist" | "active" | "aktiv" | "closed won" => {
                Stage::Client
            }
            "lapsed" | "former customer" | "former" | "churned" | "inactive"
            | "ehemaliger kunde" | "ehemalig" | "inaktiv" | "closed lost" => Stage::Lapsed,
            _ => return None,
        })
    }

    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Prospect => "prospect",
            Stage::Client => "client",
            Stage::Lapsed => "lapsed",
        }
    }
}

/// A stored contact.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    /// UUIDv7.
    pub id: Uuid,
    /// Person or company.
    pub kind: ContactKind,
    /// Name to show: "First Last", or the company, or the first email.
    pub display_name: String,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Company (the contact's employer, or the company itself).
    pub company_name: Option<String>,
    /// Sales stage.
    pub stage: Stage,
    /// The agent who owns the contact.
    pub owner: Option<String>,
    /// Free tags.
    pub tags: Vec<String>,
    /// Normalised emails (trimmed, lowercase), first is primary.
    pub emails: Vec<String>,
    /// Phones in E.164 (an extension follows as `;ext=…`), first is primary.
    pub phones: Vec<String>,
    /// Job title, address, source, preferred contact method…: the fields
    /// declared as details in `crm_protocol::schema::CONTACTS`, by name.
    #[serde(flatten)]
    pub details: Details<Contact>,
    /// The id the contact had in the system it was imported from.
    pub external_id: Option<String>,
    /// Date of birth (ISO).
    pub date_of_birth: Option<String>,
    /// Custom fields.
    pub custom: BTreeMap<String, String>,
}

impl Declared for Contact {
    const TABLE: &'static crm_protocol::schema::Table = &crm_protocol::schema::CONTACTS;
}

/// Unvalidated contact input, one text per field.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContactDraft {
    /// Person or company (text).
    pub kind: Option<String>,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Full name, split when first/last are not given.
    pub full_name: Option<String>,
    /// Company.
    pub company_name: Option<String>,
    /// Stage (text).
    pub stage: Option<String>,
    /// Owner.
    pub owner: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Emails as typed.
    pub emails: Vec<String>,
    /// Phones as typed.
    pub phones: Vec<String>,
    /// The details as typed (checked by [`Self::validate`]).
    pub details: Details<Contact>,
    /// External id.
    pub external_id: Option<String>,
    /// Date of birth (text).
    pub date_of_birth: Option<String>,
    /// Custom fields.
    pub custom: BTreeMap<String, String>,
    /// The phones are already E.164 (from the store or the importer's
    /// parser), so validation need not parse them again.
    pub(crate) phones_verified: bool,
}

/// The field names [`ContactDraft::set`] accepts besides the details
/// ([`contact_fields`] has them all) and `custom.NAME`.
pub const CONTACT_FIELDS: &[&str] = &[
    "kind",
    "first_name",
    "last_name",
    "full_name",
    "company_name",
    "stage",
    "owner",
    "tags",
    "email",
    "phone",
    "external_id",
    "date_of_birth",
];

/// Every field name [`ContactDraft::set`] accepts (besides `custom.NAME`):
/// [`CONTACT_FIELDS`], then the declared details.
pub fn contact_fields() -> impl Iterator<Item = &'static str> {
    CONTACT_FIELDS
        .iter()
        .copied()
        .chain(Contact::details().map(|f| f.name))
}

/// A text value, trimmed; `None` if nothing is left. Control characters
/// other than line breaks and tabs (NUL, escape, DEL, the C1 range: what a
/// damaged or wrongly decoded export carries, invisible on screen and
/// trouble in every program the data goes on to) are dropped; a vertical
/// tab, some programs' line break inside a cell, becomes one.
fn opt(v: &str) -> Option<String> {
    let stray = |c: char| c.is_control() && !matches!(c, '\n' | '\r' | '\t');
    let t = v.trim();
    if !t.chars().any(stray) {
        return (!t.is_empty()).then(|| t.to_string());
    }
    let cleaned: String = t
        .chars()
        .filter_map(|c| match c {
            '\u{b}' => Some('\n'),
            c if stray(c) => None,
            c => Some(c),
        })
        .collect();
    let t = cleaned.trim();
    (!t.is_empty()).then(|| t.to_string())
}

impl ContactDraft {
    /// Set one field from text. `email`, `phone` and `tags` add to what is
    /// there; `custom.NAME` sets a custom field. Empty text leaves a field
    /// unset. Unknown field names are an error naming the known ones.
    pub fn set(&mut self, field: &str, value: &str) -> Result<(), ValidationError> {
        let v = value;
        match field {
            "kind" => self.kind = opt(v),
            "first_name" => self.first_name = opt(v),
            "last_name" => self.last_name = opt(v),
            "full_name" => self.full_name = opt(v),
            "company_name" => self.company_name = opt(v),
            "stage" => self.stage = opt(v),
            "owner" => self.owner = opt(v),
            "tags" => self.tags.extend(v.split([',', ';', '|']).filter_map(opt)),
            "email" => self.emails.extend(
                // Some exports put several addresses in one cell.
                v.split([';', ',']).filter_map(opt),
            ),
            "phone" => {
                // Several numbers in one cell (our own export writes the
                // second and later ones so) are separated by semicolons.
                for p in normalize::split_phones(v) {
                    self.phones.push(p.to_string());
                    self.phones_verified = false;
                }
            }
            "external_id" => self.external_id = opt(v),
            // Outlook writes an unknown birthday as 0/0/00: no date.
            "date_of_birth" => {
                self.date_of_birth = opt(v).filter(|d| !normalize::is_unknown_date(d))
            }
            other if self.details.set(other, opt(v)) => {}
            other => {
                if let Some(name) = other.strip_prefix("custom.") {
                    let name = custom_field_name(name)?;
                    match opt(v) {
                        Some(val) => self.custom.insert(name.to_string(), val),
                        None => self.custom.remove(name),
                    };
                } else {
                    return Err(ValidationError::new(
                        other,
                        format!(
                            "unknown contact field; known fields: {}, custom.NAME",
                            contact_fields().collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// A draft holding a stored contact's values (to edit and re-validate).
    pub fn from_contact(c: &Contact) -> Self {
        ContactDraft {
            kind: Some(match c.kind {
                ContactKind::Person => "person".into(),
                ContactKind::Company => "company".into(),
            }),
            first_name: c.first_name.clone(),
            last_name: c.last_name.clone(),
            full_name: None,
            company_name: c.company_name.clone(),
            stage: Some(c.stage.as_str().into()),
            owner: c.owner.clone(),
            tags: c.tags.clone(),
            emails: c.emails.clone(),
            phones: c.phones.clone(),
            details: c.details.clone(),
            external_id: c.external_id.clone(),
            date_of_birth: c.date_of_birth.clone(),
            custom: c.custom.clone(),
            phones_verified: true,
        }
    }

    /// Validate and normalise. Returns every problem, not just the first.
    pub fn validate(
        &self,
        id: Uuid,
        region: crate::normalize::Region,
    ) -> Result<Contact, Vec<ValidationError>> {
        let mut errs = Vec::new();
        let mut check_len = |name: &str, v: &Option<String>| {
            if let Some(s) = v {
                if s.chars().count() > MAX_FIELD_LEN {
                    errs.push(ValidationError::new(
                        name,
                        format!("longer than {MAX_FIELD_LEN} characters"),
                    ));
                }
            }
        };
        for (n, v) in [
            ("first_name", &self.first_name),
            ("last_name", &self.last_name),
            ("full_name", &self.full_name),
            ("company_name", &self.company_name),
            ("owner", &self.owner),
            ("external_id", &self.external_id),
        ] {
            check_len(n, v);
        }
        let details = self.details.check().unwrap_or_else(|e| {
            errs.extend(e);
            Details::new()
        });
        let (mut first, mut last) = (self.first_name.clone(), self.last_name.clone());
        if first.is_none() && last.is_none() {
            if let Some(full) = &self.full_name {
                // "Lee, Ann" or "Ann Lee".
                if let Some((l, f)) = full.split_once(',') {
                    first = opt(f);
                    last = opt(l);
                } else if let Some((f, l)) = full.trim().rsplit_once(' ') {
                    first = opt(f);
                    last = opt(l);
                } else {
                    first = opt(full);
                }
            }
        }
        let kind = match self.kind.as_deref().map(|k| k.trim().to_lowercase()) {
            None => {
                if first.is_none() && last.is_none() && self.company_name.is_some() {
                    ContactKind::Company
                } else {
                    ContactKind::Person
                }
            }
            Some(k)
                if matches!(
                    k.as_str(),
                    "person" | "individual" | "person account" | "privat" | "privatperson"
                ) =>
            {
                ContactKind::Person
            }
            Some(k)
                if matches!(
                    k.as_str(),
                    "company"
                        | "organisation"
                        | "organization"
                        | "business"
                        | "firma"
                        | "unternehmen"
                ) =>
            {
                ContactKind::Company
            }
            Some(k) => {
                errs.push(ValidationError::new(
                    "kind",
                    format!("{k:?} is not person or company"),
                ));
                ContactKind::Person
            }
        };
        let stage = match &self.stage {
            None => Stage::Prospect,
            Some(s) => Stage::parse(s).unwrap_or_else(|| {
                errs.push(ValidationError::new(
                    "stage",
                    format!(
                        "{:?} is not a stage (prospect, client or lapsed)",
                        normalize::clip(s)
                    ),
                ));
                Stage::Prospect
            }),
        };
        let mut emails: Vec<String> = Vec::new();
        for e in &self.emails {
            match normalize::email(e) {
                Ok(n) if !emails.contains(&n) => emails.push(n),
                Ok(_) => {}
                Err(r) => errs.push(ValidationError::new("email", r)),
            }
        }
        let mut phones: Vec<String> = Vec::new();
        for p in &self.phones {
            if self.phones_verified {
                if !phones.contains(p) {
                    phones.push(p.clone());
                }
                continue;
            }
            match normalize::phone(p, region) {
                Ok(n) if !phones.contains(&n) => phones.push(n),
                Ok(_) => {}
                Err(r) => errs.push(ValidationError::new("phone", r)),
            }
        }
        let date_of_birth = match &self.date_of_birth {
            None => None,
            Some(d) => match normalize::date(d) {
                Ok(d) => Some(d.to_string()),
                Err(r) => {
                    errs.push(ValidationError::new("date_of_birth", r));
                    None
                }
            },
        };
        if self.custom.len() > MAX_CUSTOM_FIELDS {
            errs.push(ValidationError::new(
                "custom",
                format!("more than {MAX_CUSTOM_FIELDS} custom fields"),
            ));
        }
        for (k, v) in &self.custom {
            if v.chars().count() > MAX_FIELD_LEN {
                errs.push(ValidationError::new(
                    format!("custom.{k}"),
                    format!("longer than {MAX_FIELD_LEN} characters"),
                ));
            }
        }
        for (name, n) in [
            ("tags", self.tags.len()),
            ("emails", self.emails.len()),
            ("phones", self.phones.len()),
        ] {
            if n > MAX_LIST_ITEMS {
                errs.push(ValidationError::new(
                    name,
                    format!("{n} of them; at most {MAX_LIST_ITEMS} per contact"),
                ));
            }
        }
        if let Some(t) = self.tags.iter().find(|t| t.chars().count() > MAX_FIELD_LEN) {
            errs.push(ValidationError::new(
                "tags",
                format!(
                    "a tag is longer than {MAX_FIELD_LEN} characters ({:?}…)",
                    t.chars().take(20).collect::<String>()
                ),
            ));
        }
        let mut tags: Vec<String> = Vec::new();
        for t in &self.tags {
            if !tags.iter().any(|x| x.eq_ignore_ascii_case(t)) {
                tags.push(t.clone());
            }
        }
        let person_name = match (&first, &last) {
            (Some(f), Some(l)) => Some(format!("{f} {l}")),
            (Some(n), None) | (None, Some(n)) => Some(n.clone()),
            (None, None) => None,
        };
        let display_name = match kind {
            ContactKind::Company => self.company_name.clone().or(person_name),
            ContactKind::Person => person_name.or_else(|| self.company_name.clone()),
        }
        .or_else(|| emails.first().cloned())
        .or_else(|| phones.first().cloned());
        let Some(display_name) = display_name else {
            if errs.is_empty() {
                errs.push(ValidationError::new(
                    "name",
                    "a contact needs a name, a company, an email or a phone",
                ));
            }
            return Err(errs);
        };
        if display_name.chars().count() > MAX_FIELD_LEN {
            errs.push(ValidationError::new(
                "name",
                format!("first and last name together are longer than {MAX_FIELD_LEN} characters"),
            ));
        }
        if !errs.is_empty() {
            return Err(errs);
        }
        Ok(Contact {
            id,
            kind,
            display_name,
            first_name: first,
            last_name: last,
            company_name: self.company_name.clone(),
            stage,
            owner: self.owner.clone(),
            tags,
            emails,
            phones,
            details,
            external_id: self.external_id.clone(),
            date_of_birth,
            custom: self.custom.clone(),
        })
    }
}

pub(crate) fn invalid(errs: Vec<ValidationError>) -> CoreError {
    let mut it = errs.into_iter();
    let Some(first) = it.next() else {
        return CoreError::Invalid(ValidationError::new("contact", "is not valid"));
    };
    let rest: Vec<String> = it.map(|e| e.to_string()).collect();
    if rest.is_empty() {
        return CoreError::Invalid(first);
    }
    CoreError::Invalid(ValidationError::new(
        first.field,
        format!("{}; {}", first.reason, rest.join("; ")),
    ))
}

/// What writing a contact did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    /// A new contact.
    Created,
    /// An existing contact changed.
    Updated,
    /// An existing contact already had these values.
    Unchanged,
}

/// The id in the first row's first column, if any (a text UUID).
fn first_id(mut rows: rusqlite::Rows<'_>) -> Result<Option<Uuid>> {
    Ok(match rows.next()? {
        Some(r) => records::uuid_in(r.get_ref(0)?),
        None => None,
    })
}

impl WriteTx<'_> {
    /// Find a live contact by normalised email.
    pub(crate) fn contact_by_email(&self, email: &str) -> Result<Option<Uuid>> {
        // The look-up tables hold live contacts only (the write path
        // removes a contact's rows when it is deleted), so no join is
        // needed; SQLite also re-prepares such a join at every call.
        let mut st = self.stmt("SELECT contact_id FROM contact_emails WHERE email = ?1 LIMIT 1")?;
        let id = first_id(st.query([email])?);
        id
    }

    /// Find a live contact by the id it had in the system it came from.
    pub(crate) fn contact_by_external_id(&self, ext: &str) -> Result<Option<Uuid>> {
        let mut st =
            self.stmt("SELECT id FROM contacts WHERE external_id = ?1 AND deleted = 0 LIMIT 1")?;
        let id = first_id(st.query([ext])?);
        id
    }

    /// Find the contact an earlier import made from an identical row.
    pub(crate) fn contact_by_import_key(&self, key: &str) -> Result<Option<Uuid>> {
        let id: Option<String> = self
            .conn()
            .prepare_cached(
                "SELECT k.contact_id FROM import_keys k JOIN contacts c ON c.id = k.contact_id \
                 WHERE k.key = ?1 AND c.deleted = 0",
            )?
            .query_row([key], |r| r.get(0))
            .optional()?;
        Ok(id.and_then(|s| Uuid::parse_str(&s).ok()))
    }

    /// Remember which contact a row fingerprint became (local-only).
    pub(crate) fn set_import_key(&self, key: &str, id: Uuid) -> Result<()> {
        self.exec(
            "INSERT INTO import_keys (key, contact_id) VALUES (?1, ?2) \
             ON CONFLICT(key) DO UPDATE SET contact_id = excluded.contact_id",
            [key, &id.to_string()],
        )?;
        Ok(())
    }

    /// Live contacts other than `except` holding a phone number (at most
    /// 20), handed to `each` (no list is built: an import asks for every
    /// phone of every row).
    pub(crate) fn contacts_by_phone(
        &self,
        phone: &str,
        except: &str,
        mut each: impl FnMut(Uuid),
    ) -> Result<()> {
        let mut st = self.stmt(
            "SELECT contact_id FROM contact_phones WHERE phone = ?1 AND contact_id <> ?2 LIMIT 20",
        )?;
        let mut rows = st.query([phone, except])?;
        while let Some(r) = rows.next()? {
            if let Some(id) = records::uuid_in(r.get_ref(0)?) {
                each(id);
            }
        }
        Ok(())
    }

    /// Load a live contact.
    pub fn get_contact(&self, id: Uuid) -> Result<Option<Contact>> {
        match load_row(self.conn(), Table::Contacts, id)? {
            None => Ok(None),
            Some(r) => Ok(Some(from_fields(id, r.fields)?)),
        }
    }

    /// Insert or update a validated contact (by its id), keeping the email
    /// and phone look-up tables in step. The one way contacts change.
    pub fn save_contact(&mut self, c: &Contact) -> Result<Written> {
        let before = load_row(self.conn(), Table::Contacts, c.id)?;
        self.save_contact_over(c, before)
    }

    /// [`Self::save_contact`] when the caller already knows the stored row
    /// (`None`: the id is new).
    pub(crate) fn save_contact_over(
        &mut self,
        c: &Contact,
        before: Option<crate::store::StoredRow>,
    ) -> Result<Written> {
        let after = to_fields(c)?;
        self.save_contact_fields(c, before, &after, &[])
    }

    /// Write a new contact whose field map was made beforehand
    /// ([`NewContact::new`], e.g. on an import's reader thread).
    pub(crate) fn save_new_contact(&mut self, c: &Contact, new: &NewContact) -> Result<Written> {
        self.insert(c.id, &new.0)?;
        crate::lookups::index_lists(
            self.conn(),
            &c.id.to_string(),
            [&c.emails, &c.phones, &c.tags],
        )?;
        Ok(Written::Created)
    }

    fn save_contact_fields(
        &mut self,
        c: &Contact,
        before: Option<crate::store::StoredRow>,
        after: &serde_json::Map<String, serde_json::Value>,
        named: &[&str],
    ) -> Result<Written> {
        let changed = self.put_named(Table::Contacts, c.id, before.as_ref(), after, named)?;
        if changed.is_empty() {
            return Ok(Written::Unchanged);
        }
        let id = c.id.to_string();
        let Some(b) = &before else {
            crate::lookups::index(self.conn(), &id, after)?;
            return Ok(Written::Created);
        };
        crate::lookups::reindex(self.conn(), &id, &b.fields, after, |f| changed.contains(&f))?;
        if changed.contains(&"stage") {
            let old_stage = b.fields.get("stage").and_then(|v| v.as_str()).unwrap_or("");
            self.add_activity(
                c.id,
                crate::activity::ActivityKind::StatusChange,
                &format!("stage changed from {old_stage} to {}", c.stage.as_str()),
            )?;
        }
        Ok(Written::Updated)
    }

    /// Tombstone a contact.
    pub fn delete_contact(&mut self, id: Uuid) -> Result<()> {
        if !self.tombstone(Table::Contacts, id)? {
            return Err(CoreError::NotFound {
                kind: "contact",
                id: id.to_string(),
            });
        }
        // A tombstone keeps the fields it was indexed from.
        crate::lookups::unindex_stored(self.conn(), &id.to_string())
    }
}

/// A new contact's row (what the write path writes: checked against the
/// synced bounds and converted for SQLite), made off the writer's thread.
/// Its id plays no part.
pub(crate) struct NewContact(crate::store::NewRow);

impl NewContact {
    pub(crate) fn new(c: &Contact) -> Result<NewContact> {
        Ok(NewContact(crate::store::NewRow::new(
            Table::Contacts,
            &to_fields(c)?,
        )?))
    }
}

impl WriteTx<'_> {
    /// Apply `field=value` changes to a stored contact and save it.
    pub fn update_contact_fields(
        &mut self,
        id: Uuid,
        changes: &[(String, String)],
        region: crate::normalize::Region,
    ) -> Result<Contact> {
        let current = self.get_contact(id)?.ok_or_else(|| CoreError::NotFound {
            kind: "contact",
            id: id.to_string(),
        })?;
        let mut draft = ContactDraft::from_contact(&current);
        for list in ["email", "phone", "tags"] {
            if changes.iter().any(|(f, _)| f == list) {
                match list {
                    "email" => draft.emails.clear(),
                    "phone" => draft.phones.clear(),
                    _ => draft.tags.clear(),
                }
            }
        }
        for (f, v) in changes {
            draft.set(f, v)?;
        }
        let c = draft.validate(id, region).map_err(invalid)?;
        for e in &c.emails {
            if let Some(other) = self.contact_by_email(e)? {
                if other != id {
                    return Err(CoreError::Invalid(ValidationError::new(
                        "email",
                        format!("{e} already belongs to contact {other}"),
                    )));
                }
            }
        }
        // A person's edit writes the fields they named even when this
        // device shows the value already (a plugin's does not: a hook that
        // sets what is there would otherwise trigger itself).
        let named: Vec<&'static str> = match self.actor() {
            crate::store::Actor::User { .. } => changes
                .iter()
                .filter_map(|(f, _)| stored_field(f))
                .collect(),
            _ => Vec::new(),
        };
        let before = load_row(self.conn(), Table::Contacts, c.id)?;
        let after = to_fields(&c)?;
        self.save_contact_fields(&c, before, &after, &named)?;
        Ok(c)
    }
}

/// The stored field a [`ContactDraft::set`] name writes (`None`: one it
/// derives others from, like `full_name`).
fn stored_field(draft_name: &str) -> Option<&'static str> {
    let name = match draft_name {
        "email" => "emails",
        "phone" => "phones",
        n if n.starts_with("custom.") => "custom",
        n => n,
    };
    Table::Contacts
        .fields()
        .iter()
        .copied()
        .find(|f| *f == name)
}

impl WriteTx<'_> {
    /// Set (or with `None` remove) custom fields of a stored contact, and
    /// nothing else: the other fields are stored and valid already, so they
    /// are not validated again (the fast path for plugins that score or tag
    /// many records).
    pub fn set_contact_custom(
        &mut self,
        id: Uuid,
        fields: &[(String, Option<String>)],
    ) -> Result<()> {
        // Only the custom fields change: read only them.
        let before = load_custom(self.conn(), id)?;
        let custom = custom_after(before.fields.get("custom"), fields)?;
        let mut after = serde_json::Map::new();
        after.insert("custom".into(), serde_json::Value::Object(custom));
        self.put(Table::Contacts, id, Some(&before), &after)?;
        Ok(())
    }
}

/// A live contact's custom fields (and clocks), or `NotFound`.
fn load_custom(conn: &rusqlite::Connection, id: Uuid) -> Result<crate::store::StoredRow> {
    crate::store::load_some(conn, Table::Contacts, id, &["custom"])?.ok_or_else(|| {
        CoreError::NotFound {
            kind: "contact",
            id: id.to_string(),
        }
    })
}

/// A contact's custom fields once `fields` are set (or, with `None`,
/// removed), checked: names, lengths and how many there are.
fn custom_after(
    before: Option<&serde_json::Value>,
    fields: &[(String, Option<String>)],
) -> Result<serde_json::Map<String, serde_json::Value>> {
    let mut custom = match before {
        Some(serde_json::Value::Object(m)) => m.clone(),
        _ => serde_json::Map::new(),
    };
    for (name, value) in fields {
        let name = custom_field_name(name)?;
        match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            None => {
                custom.remove(name);
            }
            Some(v) if v.chars().count() > MAX_FIELD_LEN => {
                return Err(ValidationError::new(
                    format!("custom.{name}"),
                    format!("longer than {MAX_FIELD_LEN} characters"),
                )
                .into())
            }
            Some(v) => {
                custom.insert(name.to_string(), serde_json::Value::String(v.to_string()));
            }
        }
    }
    if custom.len() > MAX_CUSTOM_FIELDS {
        return Err(ValidationError::new(
            "custom",
            format!("more than {MAX_CUSTOM_FIELDS} custom fields"),
        )
        .into());
    }
    Ok(custom)
}

/// A custom field's name, trimmed: 1 to 64 characters (one rule for every
/// path that sets custom fields).
fn custom_field_name(raw: &str) -> Result<&str, ValidationError> {
    let name = raw.trim();
    if name.is_empty() || name.len() > 64 {
        return Err(ValidationError::new(
            format!("custom.{name}"),
            "custom field names are 1 to 64 characters",
        ));
    }
    Ok(name)
}

/// Custom field changes for one contact: name and value (`None` removes).
pub type CustomChanges = Vec<(String, Option<String>)>;

/// Filters for listing contacts.
#[derive(Clone, Debug, Default)]
pub struct ContactQuery {
    /// Text found in the name, company, emails or phones.
    pub search: Option<String>,
    /// Only this stage.
    pub stage: Option<Stage>,
    /// Only this owner.
    pub owner: Option<String>,
    /// Only contacts with this tag.
    pub tag: Option<String>,
    /// At most this many (default 100).
    pub limit: Option<usize>,
    /// Skip this many.
    pub offset: usize,
}

impl Store {
    /// Create a contact from a draft, refusing an email another contact has.
    pub fn create_contact(&mut self, draft: &ContactDraft) -> Result<Contact> {
        let c = draft
            .validate(Uuid::now_v7(), self.default_region())
            .map_err(invalid)?;
        let actor = self.user_actor();
        let mut tx = self.write(actor)?;
        for e in &c.emails {
            if let Some(other) = tx.contact_by_email(e)? {
                return Err(CoreError::Invalid(ValidationError::new(
                    "email",
                    format!("{e} already belongs to contact {other}"),
                )));
            }
        }
        tx.save_contact(&c)?;
        tx.commit()?;
        Ok(c)
    }

    /// Change fields of a contact (`field=value` pairs as [`ContactDraft::set`]
    /// takes them; `email`/`phone`/`tags` replace the lists when given).
    pub fn update_contact(&mut self, id: Uuid, changes: &[(String, String)]) -> Result<Contact> {
        let mut out = self.update_contacts(&[(id, changes.to_vec())])?;
        out.pop().ok_or_else(|| CoreError::NotFound {
            kind: "contact",
            id: id.to_string(),
        })
    }

    /// [`Store::update_contact`] for many contacts in one transaction: all
    /// of them are written, or (on the first invalid change) none.
    pub fn update_contacts(
        &mut self,
        changes: &[(Uuid, Vec<(String, String)>)],
    ) -> Result<Vec<Contact>> {
        let actor = self.user_actor();
        let region = self.default_region();
        let mut tx = self.write(actor)?;
        let mut out = Vec::with_capacity(changes.len());
        for (id, fields) in changes {
            out.push(tx.update_contact_fields(*id, fields, region)?);
        }
        tx.commit()?;
        Ok(out)
    }

    /// Delete (tombstone) a contact.
    pub fn delete_contact(&mut self, id: Uuid) -> Result<()> {
        let actor = self.user_actor();
        let mut tx = self.write(actor)?;
        tx.delete_contact(id)?;
        tx.commit()
    }

    /// [`WriteTx::set_contact_custom`] for many contacts in one transaction:
    /// all of them are written, or none.
    pub fn set_contacts_custom(&mut self, changes: &[(Uuid, CustomChanges)]) -> Result<()> {
        let actor = self.user_actor();
        let mut tx = self.write(actor)?;
        for (id, fields) in changes {
            tx.set_contact_custom(*id, fields)?;
        }
        tx.commit()
    }

    /// Whether [`Store::set_contacts_custom`] would accept `changes` as the
    /// database stands: every contact live, every name and value valid, no
    /// contact past the custom-field cap. Writes nothing (a reader
    /// connection can answer it, see [`Store::open_reader`]); the first
    /// problem found is the error that write would give.
    pub fn check_contacts_custom(&self, changes: &[(Uuid, CustomChanges)]) -> Result<()> {
        // The batch's live contacts' custom fields, in one query.
        let ids: Vec<String> = changes.iter().map(|(id, _)| id.to_string()).collect();
        let mut st = self.conn().prepare_cached(
            "SELECT id, custom FROM contacts WHERE deleted = 0 \
             AND id IN (SELECT value FROM json_each(?1))",
        )?;
        let mut current: std::collections::HashMap<String, serde_json::Value> = st
            .query_map([serde_json::to_string(&ids)?], |r| {
                let custom: String = r.get(1)?;
                Ok((r.get::<_, String>(0)?, custom))
            })?
            .map(|r| {
                let (id, custom) = r?;
                Ok((id, serde_json::from_str(&custom).unwrap_or_default()))
            })
            .collect::<Result<_>>()?;
        // In order, as the write applies them (one contact may come twice).
        for ((_, fields), key) in changes.iter().zip(&ids) {
            let Some(before) = current.get_mut(key) else {
                return Err(CoreError::NotFound {
                    kind: "contact",
                    id: key.clone(),
                });
            };
            *before = serde_json::Value::Object(custom_after(Some(before), fields)?);
        }
        Ok(())
    }

    /// Live contacts in id order (creation order) after `after`: for walking
    /// every contact in pages whose cost does not grow with the position.
    pub fn scan_contacts(&self, after: Option<Uuid>, limit: usize) -> Result<Vec<Contact>> {
        self.scan_contact_fields(after, limit)?
            .into_iter()
            .map(records::from_listed)
            .collect()
    }

    /// [`Store::scan_contacts`] as each contact's serialised form (exactly
    /// what serialising the [`Contact`] gives: its fields, named by static
    /// names, `id` last) without making the contacts: the plugin host turns
    /// these straight into script values (a third of a rescoring run went
    /// into making contacts only to serialise them again).
    pub fn scan_contact_fields(
        &self,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<Vec<(&'static str, serde_json::Value)>>> {
        let after = after.map(|u| u.to_string()).unwrap_or_default();
        records::list_fields(
            self.conn(),
            Table::Contacts,
            "id > ?1",
            &[&after],
            "id",
            limit,
            0,
        )
    }

    /// A live contact by id.
    pub fn contact(&self, id: Uuid) -> Result<Contact> {
        records::get(self.conn(), Table::Contacts, id)
    }

    /// Live contacts other than `except` holding a phone number (at most
    /// 20), handed to `each` (no list is built: an import asks for every
    /// phone of every row). written in any common form
    /// (normalised with the profile's default region first).
    pub fn contacts_with_phone(&self, raw: &str, limit: usize) -> Result<Listed<Contact>> {
        let phone = normalize::phone(raw, self.default_region())
            .map_err(|r| CoreError::Invalid(ValidationError::new("phone", r)))?;
        let mut st = self
            .conn()
            .prepare_cached("SELECT contact_id FROM contact_phones WHERE phone = ?1 LIMIT ?2")?;
        let ids: Vec<String> = st
            .query_map(
                rusqlite::params![
                    &phone,
                    i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX)
                ],
                |r| r.get(0),
            )?
            .collect::<std::result::Result<_, _>>()?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Ok(id) = Uuid::parse_str(&id) {
                if let Some(c) = self.get_contact_live(id)? {
                    out.push(c);
                }
            }
        }
        Ok(Listed::cut(out, limit))
    }

    fn get_contact_live(&self, id: Uuid) -> Result<Option<Contact>> {
        match load_row(self.conn(), Table::Contacts, id)? {
            None => Ok(None),
            Some(r) => Ok(Some(from_fields(id, r.fields)?)),
        }
    }

    /// Number of live contacts.
    pub fn count_contacts(&self) -> Result<i64> {
        Ok(self
            .conn()
            .query_row("SELECT count(*) FROM contacts WHERE deleted = 0", [], |r| {
                r.get(0)
            })?)
    }

    /// List contacts, sorted by name.
    pub fn list_contacts(&self, q: &ContactQuery) -> Result<Vec<Contact>> {
        let (filter, args) = contact_filter(q);
        let refs: Vec<&dyn rusqlite::ToSql> =
            args.iter().map(|a| a as &dyn rusqlite::ToSql).collect();
        records::list(
            self.conn(),
            Table::Contacts,
            &filter,
            &refs,
            CONTACT_ORDER,
            q.limit.unwrap_or(100),
            q.offset,
        )
    }

    /// The owners and the tags (lowercased) in use, at most `limit` of
    /// each, sorted: the choices of the contacts list's filters.
    pub fn contact_owners_and_tags(&self, limit: usize) -> Result<(Vec<String>, Vec<String>)> {
        let mut owners = Vec::new();
        let mut st = self.conn().prepare(
            "SELECT DISTINCT owner FROM contacts WHERE deleted = 0 AND owner IS NOT NULL \
             AND owner <> '' ORDER BY owner LIMIT ?1",
        )?;
        for o in st.query_map([limit as i64], |r| r.get::<_, String>(0))? {
            owners.push(o?);
        }
        let mut tags = Vec::new();
        let mut st = self
            .conn()
            .prepare("SELECT DISTINCT tag FROM contact_tags ORDER BY tag LIMIT ?1")?;
        for t in st.query_map([limit as i64], |r| r.get::<_, String>(0))? {
            tags.push(t?);
        }
        Ok((owners, tags))
    }

    /// How many contacts match `q`'s filter (its limit and offset aside):
    /// the length of the app's scrolling list.
    pub fn count_matching_contacts(&self, q: &ContactQuery) -> Result<i64> {
        let (filter, args) = contact_filter(q);
        let sql = count_sql(&filter);
        let refs: Vec<&dyn rusqlite::ToSql> =
            args.iter().map(|a| a as &dyn rusqlite::ToSql).collect();
        Ok(self.conn().query_row(&sql, refs.as_slice(), |r| r.get(0))?)
    }
}

/// The contacts list's order (`contacts_live_name` serves it).
const CONTACT_ORDER: &str = "display_name COLLATE NOCASE, id";

/// The count behind [`Store::count_matching_contacts`].
fn count_sql(filter: &str) -> String {
    if filter.is_empty() {
        "SELECT count(*) FROM contacts WHERE deleted = 0".into()
    } else {
        format!("SELECT count(*) FROM contacts WHERE deleted = 0 AND {filter}")
    }
}

/// The SQL condition and its arguments for a contact query's filter.
fn contact_filter(q: &ContactQuery) -> (String, Vec<String>) {
    let mut conds: Vec<String> = Vec::new();
    let mut args: Vec<String> = Vec::new();
    if let Some(s) = q.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let like = format!(
            "%{}%",
            s.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        args.push(like);
        conds.push(
            "(display_name LIKE ?1 ESCAPE '\\' OR company_name LIKE ?1 ESCAPE '\\' \
             OR emails LIKE ?1 ESCAPE '\\' OR phones LIKE ?1 ESCAPE '\\')"
                .into(),
        );
    }
    if let Some(st) = q.stage {
        args.push(st.as_str().into());
        conds.push(format!("stage = ?{}", args.len()));
    }
    if let Some(o) = &q.owner {
        args.push(o.clone());
        conds.push(format!("owner = ?{}", args.len()));
    }
    if let Some(t) = &q.tag {
        args.push(t.clone());
        conds.push(format!(
            "id IN (SELECT contact_id FROM contact_tags WHERE tag = lower(?{}))",
            args.len()
        ));
    }
    (conds.join(" AND "), args)
}

#[cfg(test)]
mod tests {
    use crate::{ContactQuery, Store};

    /// The steps of SQLite's plan for `sql`, one string each.
    fn plan(s: &Store, sql: &str) -> Vec<String> {
        let mut st = s
            .conn()
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("prepare");
        st.query_map([], |r| r.get::<_, String>(3))
            .expect("plan")
            .map(|r| r.expect("row"))
            .collect()
    }

    /// The unfiltered list and its count (what the app's contacts screen
    /// asks at every scroll) walk the narrow name index: no table scan, no
    /// sort of the whole table.
    #[test]
    fn the_contacts_list_and_its_count_walk_the_name_index() {
        let dir = tempfile::tempdir().expect("tmp");
        let s = Store::open_path(&dir.path().join("t.db"), None, true).expect("store");
        let q = ContactQuery {
            limit: Some(200),
            offset: 50_000,
            ..ContactQuery::default()
        };
        let (filter, _) = super::contact_filter(&q);
        assert!(filter.is_empty());
        let list = plan(
            &s,
            &crate::records::list_sql(
                crate::store::Table::Contacts,
                &filter,
                super::CONTACT_ORDER,
                200,
                50_000,
            ),
        );
        assert!(
            list.iter().any(|p| p.contains("contacts_live_name")),
            "{list:?}"
        );
        assert!(!list.iter().any(|p| p.contains("TEMP B-TREE")), "{list:?}");
        let count = plan(&s, &super::count_sql(&filter));
        assert!(
            count
                .iter()
                .any(|p| p.contains("USING COVERING INDEX contacts_live_")),
            "{count:?}"
        );
        // The import's look-ups keep their own indexes (an index led by
        // `deleted` once took them over: a scan per imported row).
        let external = plan(
            &s,
            "SELECT id FROM contacts WHERE external_id = 'x' AND deleted = 0 LIMIT 1",
        );
        assert!(
            external
                .iter()
                .any(|p| p.contains("INDEX contacts_external")),
            "{external:?}"
        );
        // The filter choices: owners from an index, tags from their table.
        let owners = plan(
            &s,
            "SELECT DISTINCT owner FROM contacts WHERE deleted = 0 AND owner IS NOT NULL \
             AND owner <> '' ORDER BY owner LIMIT 500",
        );
        assert!(
            owners
                .iter()
                .any(|p| p.contains("COVERING INDEX contacts_live_owner")),
            "{owners:?}"
        );
        let tag = ContactQuery {
            tag: Some("hot".into()),
            ..ContactQuery::default()
        };
        let (filter, _) = super::contact_filter(&tag);
        let filtered = plan(&s, &super::count_sql(&filter.replace("?1", "'hot'")));
        assert!(
            filtered.iter().any(|p| p.contains("contact_tags")),
            "{filtered:?}"
        );
        assert!(
            !filtered.iter().any(|p| p == "SCAN contacts"),
            "{filtered:?}"
        );
    }

    fn draft(pairs: &[(&str, &str)]) -> crate::ContactDraft {
        let mut d = crate::ContactDraft::default();
        for (f, v) in pairs {
            d.set(f, v).expect("field");
        }
        d
    }

    /// Setting custom fields reads and writes only `custom`: every other
    /// field keeps its value, and the audit entry and the op name only it.
    #[test]
    fn setting_custom_fields_leaves_the_other_fields_alone() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut s = Store::open_path(&dir.path().join("t.db"), None, true).expect("store");
        let ann = s
            .create_contact(&draft(&[
                ("first_name", "Ann"),
                ("city", "Leeds"),
                ("tags", "hot"),
                ("email", "ann@example.com"),
            ]))
            .expect("ann");
        s.set_contacts_custom(&[(ann.id, vec![("score".into(), Some("9".into()))])])
            .expect("custom");
        let after = s.contact(ann.id).expect("ann");
        assert_eq!(after.custom.get("score").map(String::as_str), Some("9"));
        assert_eq!(
            (after.display_name.as_str(), after.details.get("city")),
            ("Ann", Some("Leeds"))
        );
        assert_eq!((after.tags, after.emails), (ann.tags, ann.emails));
        let audit = s.audit_for(ann.id).expect("audit");
        let last = audit.last().expect("entry");
        assert_eq!(
            last.changes
                .as_object()
                .expect("changes")
                .keys()
                .collect::<Vec<_>>(),
            vec!["custom"]
        );
        let ops = s.outbox_batch(10).expect("ops");
        assert_eq!(ops[1].fields.keys().collect::<Vec<_>>(), vec!["custom"]);
    }

    fn tagged(s: &Store, tag: &str) -> Vec<String> {
        let q = ContactQuery {
            tag: Some(tag.into()),
            limit: Some(100),
            ..ContactQuery::default()
        };
        let n = s.count_matching_contacts(&q).expect("count");
        let names: Vec<String> = s
            .list_contacts(&q)
            .expect("list")
            .into_iter()
            .map(|c| c.display_name)
            .collect();
        assert_eq!(n as usize, names.len());
        names
    }

    /// The tag table follows every kind of write: create, edit, delete.
    #[test]
    fn tag_choices_and_the_tag_filter_follow_creates_edits_and_deletes() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut s = Store::open_path(&dir.path().join("t.db"), None, true).expect("store");
        let ann = s
            .create_contact(&draft(&[("first_name", "Ann"), ("tags", "Hot; VIP")]))
            .expect("ann");
        s.create_contact(&draft(&[("first_name", "Bob"), ("tags", "hot")]))
            .expect("bob");
        let cy = s
            .create_contact(&draft(&[("first_name", "Cy"), ("tags", "cold")]))
            .expect("cy");
        assert_eq!(
            s.contact_owners_and_tags(10).expect("tags").1,
            vec!["cold", "hot", "vip"]
        );
        assert_eq!(tagged(&s, "HOT"), vec!["Ann", "Bob"]);
        s.update_contact(ann.id, &[("tags".into(), "warm".into())])
            .expect("edit");
        assert_eq!(tagged(&s, "hot"), vec!["Bob"]);
        assert_eq!(tagged(&s, "warm"), vec!["Ann"]);
        s.delete_contact(cy.id).expect("delete");
        assert_eq!(tagged(&s, "cold"), Vec::<String>::new());
        assert_eq!(
            s.contact_owners_and_tags(10).expect("tags").1,
            vec!["hot", "warm"]
        );
    }

    /// A profile written before the tag table existed (schema 3) gets it
    /// filled from its contacts when this version opens it.
    #[test]
    fn an_older_profile_gets_its_tag_table_filled_on_open() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("t.db");
        {
            let mut s = Store::open_path(&path, None, true).expect("store");
            s.create_contact(&draft(&[("first_name", "Ann"), ("tags", "Hot")]))
                .expect("ann");
            let gone = s
                .create_contact(&draft(&[("first_name", "Bob"), ("tags", "gone")]))
                .expect("bob");
            s.delete_contact(gone.id).expect("delete");
            crate::migrations::undo_after(s.conn(), 3);
            // Back to schema 3: the objects migration 4 made are dropped, those
            // migration 6 dropped are back.
            s.conn()
                .execute_batch(
                    "DROP TABLE contact_tags; \
                     DROP INDEX contacts_live_owner; DROP INDEX contacts_live_name; \
                     CREATE INDEX contacts_name ON contacts(display_name COLLATE NOCASE); \
                     CREATE INDEX contact_emails_contact ON contact_emails(contact_id); \
                     CREATE INDEX contact_phones_contact ON contact_phones(contact_id); \
                     PRAGMA user_version = 3;",
                )
                .expect("downgrade");
        }
        let s = Store::open_path(&path, None, false).expect("reopen");
        assert_eq!(s.contact_owners_and_tags(10).expect("tags").1, vec!["hot"]);
        assert_eq!(tagged(&s, "hot"), vec!["Ann"]);
    }
}
