//! `crm contacts …`: list, show, add, edit, delete and log against
//! contacts; the flags shared by add and edit are [`ContactFields`].

use anyhow::{anyhow, bail, Result};
use clap::{Args, Subcommand};
use crm_core::normalize::format_minor;
use crm_core::{parse_id, ActivityKind, Contact, ContactDraft, ContactQuery, Stage};

use crate::Profile;

#[derive(Subcommand)]
pub enum ContactsCmd {
    /// List contacts.
    List {
        /// Text in the name, company, email or phone.
        #[arg(long)]
        search: Option<String>,
        /// Only this stage (prospect, client, lapsed).
        #[arg(long)]
        stage: Option<String>,
        /// Only this owner.
        #[arg(long)]
        owner: Option<String>,
        /// Only this tag.
        #[arg(long)]
        tag: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Skip this many.
        #[arg(long, default_value_t = 0)]
        offset: usize,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Count contacts.
    Count,
    /// Show one contact with its policies, tasks and timeline.
    Show {
        /// Contact id.
        id: String,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Add a contact.
    Add(ContactFields),
    /// Change fields of a contact.
    Edit {
        /// Contact id.
        id: String,
        #[command(flatten)]
        fields: ContactFields,
    },
    /// Delete a contact.
    Delete {
        /// Contact id.
        id: String,
    },
    /// Add a note or call to a contact's timeline.
    Log {
        /// Contact id.
        id: String,
        /// The text.
        text: String,
        /// note, call, email or meeting.
        #[arg(long, default_value = "note")]
        kind: String,
    },
}

#[derive(Args)]
pub struct ContactFields {
    /// Given name.
    #[arg(long)]
    first_name: Option<String>,
    /// Family name.
    #[arg(long)]
    last_name: Option<String>,
    /// Company.
    #[arg(long)]
    company: Option<String>,
    /// Email (repeatable).
    #[arg(long)]
    email: Vec<String>,
    /// Phone (repeatable).
    #[arg(long)]
    phone: Vec<String>,
    /// prospect, client or lapsed.
    #[arg(long)]
    stage: Option<String>,
    /// Tag (repeatable).
    #[arg(long)]
    tag: Vec<String>,
    /// Owner.
    #[arg(long)]
    owner: Option<String>,
    /// Any field: FIELD=VALUE (custom.NAME=VALUE for custom fields). Repeatable.
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    set: Vec<String>,
}

impl ContactFields {
    fn pairs(&self) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        let one = |out: &mut Vec<(String, String)>, f: &str, v: &Option<String>| {
            if let Some(v) = v {
                out.push((f.to_string(), v.clone()));
            }
        };
        one(&mut out, "first_name", &self.first_name);
        one(&mut out, "last_name", &self.last_name);
        one(&mut out, "company_name", &self.company);
        one(&mut out, "stage", &self.stage);
        one(&mut out, "owner", &self.owner);
        out.extend(self.email.iter().map(|e| ("email".to_string(), e.clone())));
        out.extend(self.phone.iter().map(|e| ("phone".to_string(), e.clone())));
        if !self.tag.is_empty() {
            out.push(("tags".into(), self.tag.join(",")));
        }
        for s in &self.set {
            let (f, v) = s
                .split_once('=')
                .ok_or_else(|| anyhow!("--set {s:?}: expected FIELD=VALUE"))?;
            out.push((f.trim().to_string(), v.to_string()));
        }
        Ok(out)
    }
}

/// `crm contacts …`.
pub fn run(profile: &mut Profile, cmd: ContactsCmd) -> Result<()> {
    match cmd {
        ContactsCmd::List {
            search,
            stage,
            owner,
            tag,
            limit,
            offset,
            json,
        } => {
            let store = profile.store()?;
            let stage = stage
                .map(|s| {
                    Stage::parse(&s)
                        .ok_or_else(|| anyhow!("--stage {s:?}: use prospect, client or lapsed"))
                })
                .transpose()?;
            let list = store.list_contacts(&ContactQuery {
                search,
                stage,
                owner,
                tag,
                limit: Some(limit),
                offset,
            })?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if list.is_empty() {
                println!("no contacts");
            } else {
                for c in list {
                    print_contact_line(&c);
                }
            }
        }
        ContactsCmd::Count => println!("{}", profile.store()?.count_contacts()?),
        ContactsCmd::Show { id, json } => {
            let store = profile.store()?;
            let id = parse_id("contact", &id)?;
            let c = store.contact(id)?;
            let policies = store.list_policies(Some(id), crate::LIST_LIMIT)?;
            crate::say_if_cut("policies", policies.more);
            let policies = policies.rows;
            let timeline = store.timeline(id, crate::LIST_LIMIT)?;
            crate::say_if_cut("timeline entries (the newest)", timeline.more);
            let timeline = timeline.rows;
            if json {
                let v =
                    serde_json::json!({ "contact": c, "policies": policies, "timeline": timeline });
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!("{}  ({:?}, {})", c.display_name, c.kind, c.stage.as_str());
                println!("id:       {}", c.id);
                let show = |k: &str, v: &Option<String>| {
                    if let Some(v) = v {
                        println!("{k:<9} {v}");
                    }
                };
                show("company:", &c.company_name);
                show("owner:", &c.owner);
                if !c.emails.is_empty() {
                    println!("emails:   {}", c.emails.join(", "));
                }
                if !c.phones.is_empty() {
                    println!("phones:   {}", c.phones.join(", "));
                }
                // The address is shown on one line; every other detail
                // under its declared label.
                const ADDRESS: [&str; 6] = [
                    "address_line1",
                    "address_line2",
                    "city",
                    "region",
                    "postcode",
                    "country",
                ];
                let addr: Vec<&str> = ADDRESS.iter().filter_map(|n| c.details.get(n)).collect();
                if !addr.is_empty() {
                    println!("address:  {}", addr.join(", "));
                }
                for (f, v) in c.details.iter() {
                    if let (Some(v), false) = (v, ADDRESS.contains(&f.name)) {
                        println!("{}: {v}", f.label.unwrap_or(f.name).to_lowercase());
                    }
                }
                if !c.tags.is_empty() {
                    println!("tags:     {}", c.tags.join(", "));
                }
                for (k, v) in &c.custom {
                    println!("{k}: {v}");
                }
                for p in &policies {
                    println!(
                        "policy:   {} {} {} {} {} {:?}",
                        p.policy_number,
                        p.carrier,
                        p.line_of_business,
                        format_minor(p.premium_minor),
                        p.currency,
                        p.status
                    );
                }
                for a in &timeline {
                    println!("{}  {:?}: {}", a.occurred_at, a.kind, a.body);
                }
            }
        }
        ContactsCmd::Add(fields) => {
            let store = profile.store()?;
            let mut draft = ContactDraft::default();
            for (f, v) in fields.pairs()? {
                draft.set(&f, &v)?;
            }
            let c = store.create_contact(&draft)?;
            println!("{}", c.id);
        }
        ContactsCmd::Edit { id, fields } => {
            let store = profile.store()?;
            let pairs = fields.pairs()?;
            if pairs.is_empty() {
                bail!("nothing to change; give --first-name, --email, --set FIELD=VALUE …");
            }
            let c = store.update_contact(parse_id("contact", &id)?, &pairs)?;
            print_contact_line(&c);
        }
        ContactsCmd::Delete { id } => {
            let store = profile.store()?;
            store.delete_contact(parse_id("contact", &id)?)?;
            println!("deleted");
        }
        ContactsCmd::Log { id, text, kind } => {
            let store = profile.store()?;
            let k = ActivityKind::parse(&kind)
                .filter(|k| *k != ActivityKind::StatusChange)
                .ok_or_else(|| anyhow!("--kind {kind:?}: use note, call, email or meeting"))?;
            let a = store.log_activity(parse_id("contact", &id)?, k, &text)?;
            println!("{}", a.id);
        }
    }
    Ok(())
}

fn print_contact_line(c: &Contact) {
    println!(
        "{}  {:<30} {:<9} {:<32} {}",
        c.id,
        c.display_name,
        c.stage.as_str(),
        c.emails.first().map(String::as_str).unwrap_or(""),
        c.phones.first().map(String::as_str).unwrap_or("")
    );
}
