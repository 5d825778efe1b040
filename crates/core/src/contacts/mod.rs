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
use crate::records::{self, from_fields, to_fields, Listed};
use crate::store::{load_row, Store, Table, WriteTx};

mod draft;

pub(crate) use draft::*;
pub use draft::{contact_fields, ContactDraft};

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
        // Every field declared searchable (lists are JSON text: the LIKE
        // finds an item inside).
        let each: Vec<String> = Contact::TABLE
            .fields
            .iter()
            .filter(|f| f.searchable)
            .map(|f| format!("{} LIKE ?1 ESCAPE '\\'", f.name))
            .collect();
        conds.push(format!("({})", each.join(" OR ")));
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
mod tests;
