//! Contacts, policies, payments, tasks, the timeline and the dashboard.

use std::collections::BTreeMap;

use crm_core::details::Declared;
use crm_core::{ActivityKind, Contact, ContactDraft, ContactQuery, PolicyDraft, Stage, TaskDraft};
use crm_protocol::schema::{self, Kind};

#[cfg(test)]
use crate::convert::tag;
use crate::convert::{self, id};
use crate::dto::*;
use crate::{today, ApiError, ApiResult, App};

/// The most rows one page of the contacts list may ask for.
pub const MAX_PAGE: u32 = 500;

/// The most rows a screen's list shows (policies, renewals, arrears,
/// tasks); more are reported with a notice.
const LIST_LIMIT: usize = 5_000;
/// The most timeline entries the contact screen shows.
const TIMELINE_LIMIT: usize = 500;

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// The form as `field=value` pairs. `all`: include empty fields (an edit
/// clears them); otherwise only filled ones (a new contact).
fn form_pairs(f: &ContactForm, all: bool) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (k, v) in [
        ("kind", &f.kind),
        ("first_name", &f.first_name),
        ("last_name", &f.last_name),
        ("company_name", &f.company_name),
        ("stage", &f.stage),
        ("owner", &f.owner),
        ("tags", &f.tags),
        ("date_of_birth", &f.date_of_birth),
    ] {
        if all || !v.trim().is_empty() {
            out.push((k.to_string(), v.clone()));
        }
    }
    // Every declared detail, then any other name the form sent (the core
    // refuses it, naming it).
    let empty = String::new();
    for d in Contact::details() {
        let v = f.details.get(d.name).unwrap_or(&empty);
        if all || !v.trim().is_empty() {
            out.push((d.name.to_string(), v.clone()));
        }
    }
    for (k, v) in &f.details {
        if Contact::detail(k).is_none() {
            out.push((k.clone(), v.clone()));
        }
    }
    for (k, list) in [("email", &f.emails), ("phone", &f.phones)] {
        let filled: Vec<&String> = list.iter().filter(|v| !v.trim().is_empty()).collect();
        if filled.is_empty() && all {
            out.push((k.to_string(), String::new()));
        }
        out.extend(filled.into_iter().map(|v| (k.to_string(), v.clone())));
    }
    out
}

fn query(q: &ContactQueryArgs) -> ApiResult<ContactQuery> {
    let stage = match q.stage.as_deref().and_then(opt) {
        None => None,
        Some(s) => Some(Stage::parse(&s).ok_or_else(|| {
            ApiError::invalid(
                "stage",
                format!("{s:?} is not a stage (prospect, client, lapsed)"),
            )
        })?),
    };
    Ok(ContactQuery {
        search: q.search.as_deref().and_then(opt),
        stage,
        owner: q.owner.as_deref().and_then(opt),
        tag: q.tag.as_deref().and_then(opt),
        limit: Some(q.limit.clamp(1, MAX_PAGE) as usize),
        offset: q.offset as usize,
    })
}

impl App {
    /// Choices the forms offer, and the owners and tags in use.
    pub fn meta(&self) -> ApiResult<Meta> {
        // Bounded: the filters offer at most 500 owners and 500 tags.
        let (owners, tags) = self.read(|s| Ok(s.contact_owners_and_tags(500)?))?;
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        // The choices are the synced schema's, so the forms offer exactly
        // what the store and the server accept.
        Ok(Meta {
            stages: strings(schema::STAGES),
            kinds: strings(schema::CONTACT_KINDS),
            frequencies: strings(schema::PAYMENT_FREQUENCIES),
            policy_statuses: strings(schema::POLICY_STATUSES),
            payment_methods: strings(schema::PAYMENT_METHODS),
            // A status change is logged by the store, not by a person.
            activity_kinds: schema::ACTIVITY_KINDS
                .iter()
                .filter(|k| **k != "status_change")
                .map(|s| s.to_string())
                .collect(),
            import_fields: crm_core::contacts::contact_fields()
                .map(str::to_string)
                .collect(),
            contact_details: Contact::details()
                .map(|f| {
                    let choices = match f.kind {
                        Kind::OneOf(v) => v,
                        _ => &[],
                    };
                    DetailSpec {
                        name: f.name.to_string(),
                        label: f.label.unwrap_or(f.name).to_string(),
                        choices: strings(choices),
                        long: f.kind == Kind::LongText,
                    }
                })
                .collect(),
            owners,
            tags,
        })
    }

    /// A window of the contacts list, and how many match.
    pub fn contacts_page(&self, q: ContactQueryArgs) -> ApiResult<ContactPage> {
        let cq = query(&q)?;
        self.read(|s| {
            let total = s.count_matching_contacts(&cq)?;
            let rows = s.list_contacts(&cq)?;
            Ok(ContactPage {
                total: total.clamp(0, u32::MAX as i64) as u32,
                offset: q.offset,
                rows: rows.iter().map(convert::contact_row).collect(),
            })
        })
    }

    /// Everything the contact screen shows.
    pub fn contact_detail(&self, contact_id: &str) -> ApiResult<ContactDetail> {
        let cid = id("contact", contact_id)?;
        let day = today();
        let today_s = day.to_string();
        let mut cut: Vec<(&str, usize)> = Vec::new();
        let mut detail = self.read(|s| {
            let c = s.contact(cid)?;
            let mut authors = crate::history::Authors::new(s);
            let policies = s.list_policies(Some(cid), LIST_LIMIT)?;
            if policies.more {
                cut.push(("policies of this contact", LIST_LIMIT));
            }
            let policies = policies.rows;
            let mut payments = BTreeMap::new();
            let mut arrears = 0;
            for p in &policies {
                let list: Vec<PaymentDto> = s
                    .payments_of(p.id)?
                    .iter()
                    .map(|x| convert::payment(x, &today_s))
                    .collect();
                arrears += list
                    .iter()
                    .filter(|x| x.overdue)
                    .map(|x| x.outstanding_minor)
                    .sum::<i64>();
                payments.insert(p.id.to_string(), list);
            }
            let tasks = s.list_tasks(crm_core::TaskFilter::OfContact(cid), day, LIST_LIMIT)?;
            if tasks.more {
                cut.push(("tasks of this contact", LIST_LIMIT));
            }
            let timeline = s.timeline(cid, TIMELINE_LIMIT)?;
            if timeline.more {
                cut.push(("timeline entries (the newest)", TIMELINE_LIMIT));
            }
            let tasks = tasks
                .rows
                .into_iter()
                .map(|t| convert::task(&t, Some(c.display_name.clone()), &today_s))
                .collect();
            Ok(ContactDetail {
                contact: convert::contact(&c),
                policies: policies.iter().map(convert::policy).collect(),
                payments,
                arrears_minor: arrears,
                tasks,
                timeline: timeline
                    .rows
                    .iter()
                    .map(|a| convert::activity(a, &mut authors))
                    .collect::<ApiResult<_>>()?,
                actions: Vec::new(),
                panels: Vec::new(),
            })
        })?;
        for (what, n) in cut {
            self.notice_cut(what, n, "the rest are kept and exported");
        }
        detail.actions = self
            .plugin_actions()?
            .into_iter()
            .filter(|a| a.target == "contact")
            .collect();
        detail.panels = self.render_panels("record_panels", Some(contact_id))?;
        Ok(detail)
    }

    /// Create a contact from the form.
    pub fn contact_create(&self, form: ContactForm) -> ApiResult<ContactDto> {
        let mut draft = ContactDraft::default();
        for (f, v) in form_pairs(&form, false) {
            draft.set(&f, &v)?;
        }
        if draft.first_name.is_none()
            && draft.last_name.is_none()
            && draft.company_name.is_none()
            && draft.emails.is_empty()
        {
            return Err(ApiError::invalid(
                "first_name",
                "give a name, a company or an email",
            ));
        }
        self.write(|s| Ok(convert::contact(&s.create_contact(&draft)?)))
    }

    /// Save the edited form over a contact.
    pub fn contact_update(&self, contact_id: &str, form: ContactForm) -> ApiResult<ContactDto> {
        let cid = id("contact", contact_id)?;
        let mut pairs = form_pairs(&form, true);
        if let Some(changed) = &form.changed {
            // The form calls the lists `emails`/`phones`, the core `email`/`phone`.
            fn named(k: &str) -> &str {
                match k {
                    "email" => "emails",
                    "phone" => "phones",
                    k => k,
                }
            }
            pairs.retain(|(k, _)| changed.iter().any(|c| c == named(k)));
        }
        self.write(|s| {
            if pairs.is_empty() {
                return Ok(convert::contact(&s.contact(cid)?));
            }
            Ok(convert::contact(&s.update_contact(cid, &pairs)?))
        })
    }

    /// Delete a contact (a tombstone that syncs).
    pub fn contact_delete(&self, contact_id: &str) -> ApiResult<()> {
        let cid = id("contact", contact_id)?;
        self.write(|s| Ok(s.delete_contact(cid)?))
    }

    /// Log a note, call, email or meeting.
    pub fn contact_log(&self, contact_id: &str, kind: &str, text: &str) -> ApiResult<ActivityDto> {
        let cid = id("contact", contact_id)?;
        let k = ActivityKind::parse(kind)
            .filter(|k| *k != ActivityKind::StatusChange)
            .ok_or_else(|| {
                ApiError::invalid(
                    "kind",
                    format!("{kind:?}: choose note, call, email or meeting"),
                )
            })?;
        self.write(|s| {
            let made = s.log_activity(cid, k, text)?;
            convert::activity(&made, &mut crate::history::Authors::new(s))
        })
    }

    /// Add a policy to a contact.
    pub fn policy_create(&self, f: PolicyForm) -> ApiResult<PolicyDto> {
        let draft = PolicyDraft {
            contact_id: Some(id("contact", &f.contact_id)?),
            policy_number: f.policy_number.trim().to_string(),
            carrier: f.carrier.trim().to_string(),
            line_of_business: f.line_of_business.trim().to_string(),
            premium: f.premium.trim().to_string(),
            currency: opt(&f.currency),
            frequency: opt(&f.frequency),
            effective: f.effective.trim().to_string(),
            expiry: opt(&f.expiry),
            status: opt(&f.status),
        };
        self.write(|s| Ok(convert::policy(&s.create_policy(&draft)?)))
    }

    /// Create the premium instalments of a policy (once).
    pub fn policy_schedule(&self, policy_id: &str) -> ApiResult<Vec<PaymentDto>> {
        let pid = id("policy", policy_id)?;
        let t = today().to_string();
        self.write(|s| {
            Ok(s.schedule_premiums(pid)?
                .iter()
                .map(|p| convert::payment(p, &t))
                .collect())
        })
    }

    /// Record a payment against a policy's oldest open instalments.
    pub fn payment_record(&self, f: PaymentForm) -> ApiResult<PaymentDto> {
        let pid = id("policy", &f.policy_id)?;
        let date = match opt(&f.date) {
            None => today(),
            Some(d) => crm_core::normalize::date(&d).map_err(|r| ApiError::invalid("date", r))?,
        };
        let t = today().to_string();
        self.write(|s| {
            let p = s.record_payment(
                pid,
                &f.amount,
                date,
                &f.method,
                opt(&f.reference).as_deref(),
            )?;
            Ok(convert::payment(&p, &t))
        })
    }

    /// Policies whose expiry falls in the next `days` days.
    pub fn renewals(&self, days: u32) -> ApiResult<Vec<RenewalDto>> {
        let day = today();
        self.read(|s| {
            let mut out = Vec::new();
            let due = s.renewals_due(day, days.min(3650), LIST_LIMIT)?;
            if due.more {
                self.notice_cut("renewals", LIST_LIMIT, "choose a shorter period");
            }
            for p in due.rows {
                let name = s
                    .contact(p.contact_id)
                    .map(|c| c.display_name)
                    .unwrap_or_default();
                let left = p
                    .expiry_date
                    .as_deref()
                    .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                    .map(|d| (d - day).num_days())
                    .unwrap_or(0);
                out.push(RenewalDto {
                    policy: convert::policy(&p),
                    contact_name: name,
                    days_left: left,
                });
            }
            Ok(out)
        })
    }

    /// Policies in arrears today.
    pub fn arrears(&self) -> ApiResult<Vec<ArrearsDto>> {
        self.read(|s| {
            let mut out = Vec::new();
            let arrears = s.arrears(today(), LIST_LIMIT)?;
            if arrears.more {
                self.notice_cut(
                    "policies in arrears (the oldest)",
                    LIST_LIMIT,
                    "export for all",
                );
            }
            for a in arrears.rows {
                let name = s
                    .contact(a.contact_id)
                    .map(|c| c.display_name)
                    .unwrap_or_default();
                out.push(ArrearsDto {
                    policy_id: a.policy_id.to_string(),
                    policy_number: a.policy_number.clone(),
                    contact_id: a.contact_id.to_string(),
                    contact_name: name,
                    outstanding_minor: a.outstanding_minor,
                    instalments: a.instalments as u32,
                    oldest_due: a.oldest_due.clone(),
                });
            }
            Ok(out)
        })
    }

    /// Tasks for one of the task views.
    pub fn tasks(&self, view: TaskView) -> ApiResult<Vec<TaskDto>> {
        use crm_core::TaskFilter as F;
        let day = today();
        let t = day.to_string();
        self.read(|s| {
            let me = s.identity().user_id.clone();
            let account = s.sync_status()?.email;
            let filter = match view {
                TaskView::Mine | TaskView::Open => F::Open,
                TaskView::DueToday => F::DueToday,
                TaskView::Overdue => F::Overdue,
                TaskView::All => F::All,
            };
            let mut names: BTreeMap<uuid::Uuid, String> = BTreeMap::new();
            let mut out = Vec::new();
            let tasks = s.list_tasks(filter, day, LIST_LIMIT)?;
            if tasks.more {
                self.notice_cut("tasks", LIST_LIMIT, "choose a narrower view");
            }
            for task in tasks.rows {
                if matches!(view, TaskView::Mine) {
                    let mine = match task.assignee.as_deref() {
                        None => true,
                        Some(a) => a == me || Some(a) == account.as_deref(),
                    };
                    if !mine {
                        continue;
                    }
                }
                let name = match task.contact_id {
                    Some(c) => match names.get(&c) {
                        Some(n) => Some(n.clone()),
                        None => {
                            let n = s.contact(c).ok().map(|x| x.display_name);
                            if let Some(n) = &n {
                                names.insert(c, n.clone());
                            }
                            n
                        }
                    },
                    None => None,
                };
                out.push(convert::task(&task, name, &t));
            }
            Ok(out)
        })
    }

    /// Create a task.
    pub fn task_create(&self, f: TaskForm) -> ApiResult<TaskDto> {
        if f.title.trim().is_empty() {
            return Err(ApiError::invalid("title", "say what is to be done"));
        }
        let contact_id = match opt(&f.contact_id) {
            Some(c) => Some(id("contact", &c)?),
            None => None,
        };
        let draft = TaskDraft {
            title: f.title.trim().to_string(),
            due: opt(&f.due),
            contact_id,
            assignee: opt(&f.assignee),
            notes: opt(&f.notes),
        };
        let t = today().to_string();
        self.write(|s| Ok(convert::task(&s.create_task(&draft)?, None, &t)))
    }

    /// Mark a task open, done or cancelled.
    pub fn task_set_status(&self, task_id: &str, status: &str) -> ApiResult<TaskDto> {
        let tid = id("task", task_id)?;
        let st = crm_core::TaskStatus::parse(status).ok_or_else(|| {
            ApiError::invalid(
                "status",
                format!("{status:?}: choose open, done or cancelled"),
            )
        })?;
        let t = today().to_string();
        self.write(|s| Ok(convert::task(&s.set_task_status(tid, st)?, None, &t)))
    }

    /// The dashboard's figures and plugin widgets.
    pub fn dashboard(&self) -> ApiResult<Dashboard> {
        let day = today();
        let mut d = self.read(|s| {
            // Totals and counts over everything, not a screen's first rows.
            let arrears = s.arrears(day, usize::MAX)?.rows;
            Ok(Dashboard {
                contacts: s.count_contacts()?.clamp(0, u32::MAX as i64) as u32,
                renewals_due: s.count_renewals_due(day, 30)? as u32,
                arrears_policies: arrears.len() as u32,
                arrears_minor: arrears.iter().map(|a| a.outstanding_minor).sum(),
                tasks_due_today: s.count_tasks(crm_core::TaskFilter::DueToday, day)? as u32,
                tasks_overdue: s.count_tasks(crm_core::TaskFilter::Overdue, day)? as u32,
                widgets: Vec::new(),
                actions: Vec::new(),
            })
        })?;
        d.widgets = self.render_panels("widgets", None)?;
        d.actions = self
            .plugin_actions()?
            .into_iter()
            .filter(|a| a.target == "global" || a.target == "contact_list")
            .collect();
        Ok(d)
    }

    /// Write every contact to a CSV file (formula-safe).
    pub fn export_contacts(&self, path: &str) -> ApiResult<u32> {
        let p = std::path::PathBuf::from(path);
        self.read(|s| Ok(s.export_contacts(&p, &mut |_| {})? as u32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_contact_sends_only_filled_fields_and_an_edit_clears_empty_ones() {
        let f = ContactForm {
            first_name: "Ann".into(),
            emails: vec!["".into(), "a@example.com".into()],
            ..Default::default()
        };
        let new = form_pairs(&f, false);
        assert_eq!(
            new,
            vec![
                ("first_name".to_string(), "Ann".to_string()),
                ("email".to_string(), "a@example.com".to_string())
            ]
        );
        let edit = form_pairs(&f, true);
        assert!(edit.contains(&("last_name".into(), "".into())));
        assert!(
            edit.contains(&("phone".into(), "".into())),
            "phones cleared"
        );
        assert!(!edit.contains(&("email".into(), "".into())));
    }

    #[test]
    fn a_page_is_capped_and_an_unknown_stage_is_refused() {
        let q = query(&ContactQueryArgs {
            limit: 100_000,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(q.limit, Some(MAX_PAGE as usize));
        let e = query(&ContactQueryArgs {
            stage: Some("gold".into()),
            limit: 10,
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("stage"));
    }

    #[test]
    fn tag_gives_serde_names() {
        assert_eq!(tag(&crm_core::Frequency::SemiAnnual), "semi_annual");
    }
}
