//! A record's *details*: the optional text and choice fields with no rule
//! beyond their kind (a contact's job title, address lines, preferred
//! contact method), handled by name from their declaration in the synced
//! schema ([`crm_protocol::schema::Field::label`]).
//!
//! A detail is declared once, there; the store's column comes from a
//! migration. Everything else (this type's serde form, the setter and
//! validation, CSV import targets and export columns, the app's form and
//! contact page, the CLI) reads the declaration, so adding one touches
//! neither this file nor the front ends.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use crm_protocol::schema::{Field, Kind, Table};
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::ValidationError;

/// A record type whose declaration has details.
pub trait Declared {
    /// The record's table in the synced schema.
    const TABLE: &'static Table;

    /// Its details, in declared order.
    fn details() -> impl Iterator<Item = &'static Field> {
        Self::TABLE.fields.iter().filter(|f| f.label.is_some())
    }

    /// The detail called `name`.
    fn detail(name: &str) -> Option<&'static Field> {
        Self::details().find(|f| f.name == name)
    }
}

/// The detail values of one record: only declared names, each with a
/// non-empty value (an absent entry is `null`).
///
/// Serialised as a map holding every declared detail, `null` when unset,
/// so a record flattening it has one key per column, as before details
/// were generic.
pub struct Details<R> {
    values: BTreeMap<&'static str, String>,
    of: PhantomData<fn() -> R>,
}

impl<R: Declared> Details<R> {
    /// No details set.
    pub fn new() -> Self {
        Details {
            values: BTreeMap::new(),
            of: PhantomData,
        }
    }

    /// The value of detail `name`, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Set (`Some`) or clear (`None`) detail `name` as given, unchecked
    /// ([`Self::check`] validates). False when `name` is not a declared
    /// detail.
    pub fn set(&mut self, name: &str, value: Option<String>) -> bool {
        let Some(f) = R::detail(name) else {
            return false;
        };
        match value {
            Some(v) => self.values.insert(f.name, v),
            None => self.values.remove(f.name),
        };
        true
    }

    /// Every declared detail with its value, in declared order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static Field, Option<&str>)> + '_ {
        R::details().map(|f| (f, self.get(f.name)))
    }

    /// The values normalised to what the store keeps (a choice as its
    /// declared value, matched by value or by its words, ignoring case),
    /// or every problem, each naming its detail.
    pub fn check(&self) -> Result<Self, Vec<ValidationError>> {
        let mut out = Details::new();
        let mut errs = Vec::new();
        for (f, v) in self.iter() {
            let Some(v) = v else { continue };
            match normalised(f, v) {
                Ok(v) => {
                    out.values.insert(f.name, v);
                }
                Err(reason) => errs.push(ValidationError::new(f.name, reason)),
            }
        }
        if errs.is_empty() {
            Ok(out)
        } else {
            Err(errs)
        }
    }
}

/// A choice's value in words: `text_message` → "text message".
pub fn choice_words(value: &str) -> String {
    value.replace('_', " ")
}

fn normalised(f: &Field, v: &str) -> Result<String, String> {
    let max = match f.kind {
        Kind::LongText => crm_protocol::schema::MAX_LONG_TEXT,
        _ => crm_protocol::schema::MAX_TEXT,
    };
    match f.kind {
        Kind::OneOf(values) => {
            let t = v.trim();
            values
                .iter()
                .find(|c| c.eq_ignore_ascii_case(t) || choice_words(c).eq_ignore_ascii_case(t))
                .map(|c| c.to_string())
                .ok_or_else(|| {
                    let words: Vec<String> = values.iter().map(|c| choice_words(c)).collect();
                    format!(
                        "{:?} is not one of: {}",
                        crate::normalize::clip(v),
                        words.join(", ")
                    )
                })
        }
        _ if v.chars().count() > max => Err(format!("longer than {max} characters")),
        _ => Ok(v.to_string()),
    }
}

impl<R: Declared> Default for Details<R> {
    fn default() -> Self {
        Self::new()
    }
}

impl<R> Clone for Details<R> {
    fn clone(&self) -> Self {
        Details {
            values: self.values.clone(),
            of: PhantomData,
        }
    }
}

impl<R> PartialEq for Details<R> {
    fn eq(&self, other: &Self) -> bool {
        self.values == other.values
    }
}

impl<R> fmt::Debug for Details<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.values.iter()).finish()
    }
}

impl<R: Declared> Serialize for Details<R> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for (f, v) in self.iter() {
            m.serialize_entry(f.name, &v)?;
        }
        m.end()
    }
}

impl<'de, R: Declared> Deserialize<'de> for Details<R> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries<R>(PhantomData<fn() -> R>);
        impl<'de, R: Declared> Visitor<'de> for Entries<R> {
            type Value = Details<R>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of details")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Details<R>, A::Error> {
                let mut out = Details::new();
                // Flattened into a record, the map also holds the record's
                // other keys: only declared details are taken.
                while let Some(k) = m.next_key::<std::borrow::Cow<'de, str>>()? {
                    match R::detail(&k) {
                        Some(f) => {
                            if let Some(v) = m.next_value::<Option<String>>()? {
                                out.values.insert(f.name, v);
                            }
                        }
                        None => {
                            m.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_map(Entries(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contacts::Contact;

    #[test]
    fn only_plain_optional_kinds_are_declared_as_details() {
        for t in crm_protocol::schema::TABLES {
            for f in t.fields.iter().filter(|f| f.label.is_some()) {
                assert!(f.optional, "{}.{} is a detail but required", t.name, f.name);
                assert!(
                    matches!(f.kind, Kind::Text | Kind::LongText | Kind::OneOf(_)),
                    "{}.{} is a detail of kind {:?}: details are text or a choice",
                    t.name,
                    f.name,
                    f.kind
                );
            }
        }
    }

    #[test]
    fn a_choice_is_kept_as_its_value_and_a_wrong_one_names_the_choices() {
        let mut d = Details::<Contact>::new();
        assert!(d.set("preferred_contact_method", Some("Text Message".into())));
        assert!(d.set("city", Some("York".into())));
        assert!(!d.set("first_name", Some("Ann".into())), "not a detail");
        let ok = d.check().expect("valid");
        assert_eq!(ok.get("preferred_contact_method"), Some("text_message"));
        assert_eq!(ok.get("city"), Some("York"));

        d.set("preferred_contact_method", Some("pigeon".into()));
        let errs = d.check().expect_err("pigeon is no choice");
        assert_eq!(errs[0].field, "preferred_contact_method");
        assert!(
            errs[0].reason.contains("text message"),
            "{}",
            errs[0].reason
        );
    }

    #[test]
    fn serialised_details_hold_every_declared_name_and_read_back() {
        let mut d = Details::<Contact>::new();
        d.set("postcode", Some("YO1 7HH".into()));
        let v = serde_json::to_value(&d).expect("serialise");
        let m = v.as_object().expect("map");
        assert_eq!(m.len(), Contact::details().count());
        assert_eq!(m["postcode"], "YO1 7HH");
        assert!(m["city"].is_null());
        let back: Details<Contact> = serde_json::from_value(v).expect("read back");
        assert_eq!(back, d);
    }
}
