//! [`ContactDraft`]: what a person typed (or a CSV cell held), field by
//! field, as text, and its validation into a [`Contact`] with normalised
//! emails and E.164 phones, naming every field that is wrong.

use super::*;

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

/// The import target of a declared list whose column adds one item: named
/// in the singular, as people head such a column.
const ONE_ITEM: &[(&str, &str)] = &[("emails", "email"), ("phones", "phone")];

/// Every field name [`ContactDraft::set`] accepts (besides `custom.NAME`),
/// in the declaration's order: each field the synced schema declares
/// `imported` (a list by its [`ONE_ITEM`] name), and `full_name` after the
/// last name (split into first and last when those are not given).
pub fn contact_fields() -> impl Iterator<Item = &'static str> {
    crm_protocol::schema::CONTACTS
        .fields
        .iter()
        .filter(|f| f.imported)
        .flat_map(|f| {
            let target = ONE_ITEM
                .iter()
                .find(|(list, _)| *list == f.name)
                .map_or(f.name, |(_, one)| *one);
            let split = (f.name == "last_name").then_some("full_name");
            std::iter::once(target).chain(split)
        })
}

/// A text value, trimmed; `None` if nothing is left. Control characters
/// other than line breaks and tabs (NUL, escape, DEL, the C1 range: what a
/// damaged or wrongly decoded export carries, invisible on screen and
/// trouble in every program the data goes on to) are dropped; a vertical
/// tab, some programs' line break inside a cell, becomes one.
pub(crate) fn opt(v: &str) -> Option<String> {
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
