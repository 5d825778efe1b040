//! Mapping CSV headers to contact fields.
//!
//! Headers are compared after folding case and dropping everything but
//! letters and digits, so "E-Mail-Adresse", "Email Address" and "email_address"
//! all meet the same entry. The table knows HubSpot, Salesforce, Zoho, Outlook
//! and Excel exports in English and German.

use crate::contacts::{contact_fields, Contact};
use crate::details::Declared;
use crate::error::ValidationError;

/// Fold a header for comparison.
pub fn fold(h: &str) -> String {
    h.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(|c| c.to_lowercase())
        .collect()
}

const SYNONYMS: &[(&str, &[&str])] = &[
    (
        "first_name",
        &[
            "firstname",
            "first",
            "givenname",
            "forename",
            "vorname",
            "fname",
        ],
    ),
    (
        "last_name",
        &[
            "lastname",
            "last",
            "surname",
            "familyname",
            "nachname",
            "lname",
            "zuname",
            "familienname",
        ],
    ),
    (
        "full_name",
        &[
            "name",
            "fullname",
            "contactname",
            "contact",
            "kontakt",
            "kontaktname",
            "vollständigername",
            "displayname",
        ],
    ),
    (
        "company_name",
        &[
            "company",
            "companyname",
            "organization",
            "organisation",
            "organizationname",
            "accountname",
            "account",
            "firma",
            "firmenname",
            "unternehmen",
            "unternehmensname",
            "employer",
            "business",
            "associatedcompany",
        ],
    ),
    (
        "job_title",
        &[
            "jobtitle",
            "title",
            "position",
            "role",
            "berufsbezeichnung",
            "funktion",
            "stellung",
            "beruf",
            "jobbezeichnung",
        ],
    ),
    (
        "email",
        &[
            "email",
            "emailaddress",
            "emailadresse",
            "primaryemail",
            "workemail",
            "secondaryemail",
            "email2",
            "email3",
            "personalemail",
            "mail",
            "emailadresse2",
            "email2adresse",
            "email3adresse",
            "emailaddress2",
            "emailaddress3",
            "email2address",
            "email3address",
            "additionalemailaddresses",
            "emailgeschäftlich",
            "emailprivat",
            "emailaddress1",
            "emailadresse1",
        ],
    ),
    (
        "phone",
        &[
            "phone",
            "phonenumber",
            "telephone",
            "tel",
            "telefon",
            "telefonnummer",
            "mobile",
            "mobilephone",
            "mobilephonenumber",
            "mobilenumber",
            "cell",
            "cellphone",
            "mobil",
            "mobiltelefon",
            "handy",
            "handynummer",
            "businessphone",
            "homephone",
            "workphone",
            "telefongeschäftlich",
            "telefonprivat",
            "otherphone",
            "primaryphone",
            "telefonnummergeschäftlich",
            "mobilnummer",
            "phone1",
            "phone2",
            "telefon2",
        ],
    ),
    (
        "address_line1",
        &[
            "street",
            "streetaddress",
            "address",
            "address1",
            "addressline1",
            "mailingstreet",
            "billingstreet",
            "straße",
            "strasse",
            "adresse",
            "straßeundhausnummer",
            "streetaddressline1",
            "businessstreet",
            "homestreet",
            "straßegeschäftlich",
            "straßeprivat",
            "anschrift",
        ],
    ),
    (
        "address_line2",
        &[
            "address2",
            "addressline2",
            "streetaddressline2",
            "adresszusatz",
            "street2",
        ],
    ),
    (
        "city",
        &[
            "city",
            "town",
            "mailingcity",
            "billingcity",
            "ort",
            "stadt",
            "wohnort",
            "businesscity",
            "homecity",
            "ortgeschäftlich",
        ],
    ),
    (
        "region",
        &[
            "state",
            "county",
            "region",
            "province",
            "stateregion",
            "mailingstate",
            "mailingstateprovince",
            "billingstate",
            "billingstateprovince",
            "bundesland",
            "stateprovince",
            "stateorregion",
            "kanton",
        ],
    ),
    (
        "postcode",
        &[
            "postcode",
            "postalcode",
            "zip",
            "zipcode",
            "zippostalcode",
            "mailingzip",
            "mailingzippostalcode",
            "mailingpostalcode",
            "billingzip",
            "billingzippostalcode",
            "billingpostalcode",
            "plz",
            "postleitzahl",
            "businesspostalcode",
            "homepostalcode",
            "postleitzahlgeschäftlich",
        ],
    ),
    (
        "country",
        &[
            "country",
            "countryregion",
            "mailingcountry",
            "billingcountry",
            "land",
            "staat",
            "landregion",
            "businesscountryregion",
        ],
    ),
    (
        "stage",
        &[
            "lifecyclestage",
            "stage",
            "leadstatus",
            "status",
            "contactstatus",
            "lebenszyklusphase",
            "phase",
            "kundenstatus",
        ],
    ),
    (
        "owner",
        &[
            "contactowner",
            "owner",
            "leadowner",
            "accountowner",
            "assignedto",
            "kontaktinhaber",
            "besitzer",
            "inhaber",
            "zuständig",
            "zuständigerbenutzer",
            "betreuer",
            "ownername",
        ],
    ),
    (
        "tags",
        &[
            "tags",
            "tag",
            "labels",
            "schlagwörter",
            "schlagworte",
            "stichwörter",
            "categories",
            "kategorien",
        ],
    ),
    (
        "source",
        &[
            "source",
            "leadsource",
            "originalsource",
            "quelle",
            "leadquelle",
            "herkunft",
            "kontaktquelle",
        ],
    ),
    (
        "external_id",
        &[
            "recordid",
            "contactid",
            "id",
            "leadid",
            "externalid",
            "kontaktid",
            "datensatzid",
            "customerid",
            "kundennummer",
            "kundenid",
        ],
    ),
    (
        "date_of_birth",
        &[
            "dateofbirth",
            "birthdate",
            "birthday",
            "dob",
            "geburtsdatum",
            "geburtstag",
        ],
    ),
    (
        "kind",
        &[
            "type",
            "contacttype",
            "kind",
            "kontakttyp",
            "typ",
            "kontaktart",
        ],
    ),
];

/// The field a header maps to by itself, if any: a known synonym, else a
/// detail's declared name or label ("Preferred contact method").
pub fn auto_field(header: &str) -> Option<&'static str> {
    let f = fold(header);
    if f.is_empty() {
        return None;
    }
    SYNONYMS
        .iter()
        .find(|(_, names)| names.contains(&f.as_str()))
        .map(|(field, _)| *field)
        .or_else(|| {
            Contact::details()
                .find(|d| fold(d.name) == f || d.label.is_some_and(|l| fold(l) == f))
                .map(|d| d.name)
        })
}

/// How closely a header names its field: its synonym's place in the list
/// (0 is the plainest name). Of two columns feeding one single-valued
/// field the closer one wins: Outlook's `Title` holds "Mr." and "Dr.",
/// its `Job Title` the job title.
fn auto_rank(header: &str) -> usize {
    let f = fold(header);
    SYNONYMS
        .iter()
        .find_map(|(_, names)| names.iter().position(|n| *n == f))
        .unwrap_or(usize::MAX)
}

/// What to do with one column.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ColumnMapping {
    /// Column position (0-based).
    pub index: usize,
    /// The header as written in the file.
    pub header: String,
    /// The contact field it feeds, or `None` when ignored.
    pub field: Option<String>,
    /// True when the user chose it with `--map`.
    pub explicit: bool,
}

/// Check a user-given target: a known field, `custom.NAME`, or `ignore`.
pub fn check_target(target: &str) -> Result<Option<String>, ValidationError> {
    let t = target.trim();
    if t.eq_ignore_ascii_case("ignore") || t == "-" {
        return Ok(None);
    }
    if let Some(known) = contact_fields().find(|f| *f == t) {
        return Ok(Some(known.to_string()));
    }
    if let Some(name) = t.strip_prefix("custom.") {
        if !name.trim().is_empty() && name.len() <= 64 {
            return Ok(Some(t.to_string()));
        }
    }
    Err(ValidationError::new(
        "mapping",
        format!(
            "{t:?} is not a contact field; use one of {}, custom.NAME or ignore",
            contact_fields().collect::<Vec<_>>().join(", ")
        ),
    ))
}

/// Build the mapping for a header row. `explicit` pairs are "column=field"
/// given by the user; they win over the automatic table.
pub fn map_headers(
    headers: &[String],
    explicit: &[(String, String)],
) -> Result<Vec<ColumnMapping>, ValidationError> {
    let mut out: Vec<ColumnMapping> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| ColumnMapping {
            index: i,
            header: h.clone(),
            field: match h.trim().strip_prefix("custom.") {
                // Our own export writes custom fields as "custom.NAME".
                Some(name) if !name.is_empty() && name.len() <= 64 => Some(h.trim().to_string()),
                _ => auto_field(h).map(str::to_string),
            },
            explicit: false,
        })
        .collect();
    for (col, target) in explicit {
        let field = check_target(target)?;
        let wanted = col.trim();
        let hit = out
            .iter()
            .position(|m| m.header.trim() == wanted)
            .or_else(|| {
                out.iter()
                    .position(|m| m.header.trim().eq_ignore_ascii_case(wanted))
            });
        let Some(i) = hit else {
            let available: Vec<&str> = headers.iter().map(|h| h.as_str()).collect();
            return Err(ValidationError::new(
                "mapping",
                format!(
                    "the file has no column {wanted:?}; its columns are: {}",
                    available.join(", ")
                ),
            ));
        };
        out[i].field = field;
        out[i].explicit = true;
    }
    // A single-valued field fed by two columns: keep the explicit one, else
    // the one whose header names it most plainly, else the first, and
    // ignore the rest, so values are not overwritten at random.
    let multi = ["email", "phone", "tags"];
    let mut seen: Vec<String> = Vec::new();
    let mut automatic: Vec<(usize, usize)> = out
        .iter()
        .filter(|m| !m.explicit)
        .map(|m| (auto_rank(&m.header), m.index))
        .collect();
    automatic.sort();
    let order: Vec<usize> = out
        .iter()
        .filter(|m| m.explicit)
        .map(|m| m.index)
        .chain(automatic.into_iter().map(|(_, i)| i))
        .collect();
    for i in order {
        if let Some(f) = out[i].field.clone() {
            if multi.contains(&f.as_str()) {
                continue;
            }
            if seen.contains(&f) {
                out[i].field = None;
            } else {
                seen.push(f);
            }
        }
    }
    // Full name only when first/last are absent.
    let has_split = out
        .iter()
        .any(|m| matches!(m.field.as_deref(), Some("first_name") | Some("last_name")));
    if has_split {
        for m in out.iter_mut() {
            if m.field.as_deref() == Some("full_name") && !m.explicit {
                m.field = None;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_synonym_feeds_a_field_a_draft_takes() {
        for (field, _) in SYNONYMS {
            assert!(
                contact_fields().any(|f| f == *field),
                "synonyms name {field:?}, which ContactDraft::set does not take"
            );
        }
    }

    #[test]
    fn a_declared_detail_is_found_by_its_label_or_name_without_a_synonym() {
        let m = map_headers(
            &hs(&[
                "Name",
                "Preferred Contact Method",
                "preferred_contact_method",
            ]),
            &[],
        )
        .expect("maps");
        assert_eq!(m[1].field.as_deref(), Some("preferred_contact_method"));
        // The second column feeding the same field is left out.
        assert_eq!(m[2].field, None);
        assert_eq!(
            check_target("preferred_contact_method").expect("a target"),
            Some("preferred_contact_method".to_string())
        );
    }

    #[test]
    fn common_exports_map_without_help() {
        let hubspot = hs(&[
            "Record ID",
            "First Name",
            "Last Name",
            "Email",
            "Phone Number",
            "Lifecycle Stage",
            "Contact owner",
        ]);
        let m = map_headers(&hubspot, &[]).unwrap();
        let fields: Vec<_> = m.iter().map(|m| m.field.as_deref()).collect();
        assert_eq!(
            fields,
            vec![
                Some("external_id"),
                Some("first_name"),
                Some("last_name"),
                Some("email"),
                Some("phone"),
                Some("stage"),
                Some("owner")
            ]
        );
        let german = hs(&[
            "Vorname",
            "Nachname",
            "E-Mail-Adresse",
            "Mobiltelefon",
            "Straße",
            "PLZ",
            "Ort",
            "Firma",
        ]);
        let m = map_headers(&german, &[]).unwrap();
        assert!(m.iter().all(|m| m.field.is_some()), "{m:?}");
        let salesforce = hs(&[
            "Contact ID",
            "Mailing Street",
            "Mailing City",
            "Mailing Zip/Postal Code",
            "Account Name",
            "Title",
        ]);
        let m = map_headers(&salesforce, &[]).unwrap();
        assert_eq!(m[3].field.as_deref(), Some("postcode"));
        assert_eq!(m[5].field.as_deref(), Some("job_title"));
    }

    #[test]
    fn explicit_mapping_wins_and_bad_targets_are_named() {
        let h = hs(&["Name", "Notiz", "Email"]);
        let m = map_headers(
            &h,
            &[
                ("Notiz".into(), "custom.note".into()),
                ("Email".into(), "ignore".into()),
            ],
        )
        .unwrap();
        assert_eq!(m[1].field.as_deref(), Some("custom.note"));
        assert_eq!(m[2].field, None);
        let e = map_headers(&h, &[("Nope".into(), "email".into())]).unwrap_err();
        assert!(
            e.reason.contains("Nope") && e.reason.contains("Notiz"),
            "{e}"
        );
        let e = map_headers(&h, &[("Name".into(), "shoe_size".into())]).unwrap_err();
        assert!(e.reason.contains("shoe_size"));
    }

    #[test]
    fn a_single_field_fed_twice_keeps_the_first_column() {
        let h = hs(&["First Name", "Vorname", "Email", "E-Mail 2"]);
        let m = map_headers(&h, &[]).unwrap();
        assert_eq!(m[0].field.as_deref(), Some("first_name"));
        assert_eq!(m[1].field, None);
        assert_eq!(m[3].field.as_deref(), Some("email"));
    }

    /// Outlook's export starts with `Title` (Mr., Dr.) and has `Job Title`
    /// later: the job title comes from the column that names it plainly,
    /// whatever the order. Its second and third addresses are emails.
    #[test]
    fn outlook_title_and_job_title_and_numbered_addresses() {
        let h = hs(&[
            "Title",
            "First Name",
            "Job Title",
            "E-mail Address",
            "E-mail 2 Address",
            "E-mail 3 Address",
        ]);
        let m = map_headers(&h, &[]).unwrap();
        assert_eq!(m[0].field, None, "{m:?}");
        assert_eq!(m[2].field.as_deref(), Some("job_title"));
        for c in &m[3..6] {
            assert_eq!(c.field.as_deref(), Some("email"), "{}", c.header);
        }
    }
}
