//! The wizard's sample: each condition of an automation being built,
//! shown on one record of the kind its trigger gives (a contact, a policy,
//! a policy in arrears, an overdue task) with the value seen and whether
//! it holds.

use serde::Serialize;
use ts_rs::TS;

use crm_studio::wizard::{self, catalog::Subject};

use crate::studio::{parse_model, wizard_error};
use crate::{ApiError, ApiResult, App, ErrorCode};

/// Records offered as samples.
const CANDIDATES: usize = 50;

/// One condition on a sample record, as the wizard is built.
#[derive(Clone, Debug, Serialize, TS)]
pub struct StudioSampleDto {
    /// Whether it holds.
    pub holds: bool,
    /// The value seen, as the reason would show it.
    pub seen: String,
}

/// A record the wizard can show its conditions on.
#[derive(Clone, Debug, Serialize, TS)]
pub struct SampleRecordDto {
    /// Its id (a policy's for arrears).
    pub id: String,
    /// How people know it.
    pub name: String,
}

impl App {
    /// The records of the kind the model's trigger gives, to choose a
    /// sample from ([`App::studio_records`]).
    pub fn studio_sample_records(&self, model: &str) -> ApiResult<Vec<SampleRecordDto>> {
        let m = parse_model(model)?;
        let kind = match wizard::generate::subject_of(&m.trigger) {
            Subject::Contact => "contact",
            Subject::Policy => "policy",
            Subject::Arrears => "arrears",
            Subject::Task => "overdue_task",
        };
        self.studio_records(kind)
    }

    /// The first fifty records of a kind, to run or sample something on:
    /// `contact` (by name), `policy`, `arrears` (policies in arrears, by
    /// the policy's id), `task` (open ones, soonest due first),
    /// `overdue_task`; none for another kind.
    pub fn studio_records(&self, kind: &str) -> ApiResult<Vec<SampleRecordDto>> {
        let today = crate::today();
        self.read(|s| {
            let names = |id: uuid::Uuid| s.contact(id).map(|c| c.display_name).unwrap_or_default();
            Ok(match kind {
                "contact" => s
                    .list_contacts(&crm_core::ContactQuery {
                        limit: Some(CANDIDATES),
                        ..Default::default()
                    })?
                    .into_iter()
                    .map(|c| SampleRecordDto {
                        id: c.id.to_string(),
                        name: c.display_name,
                    })
                    .collect(),
                "policy" => s
                    .list_policies(None, CANDIDATES)?
                    .rows
                    .into_iter()
                    .map(|p| SampleRecordDto {
                        id: p.id.to_string(),
                        name: format!("{} ({})", p.policy_number, names(p.contact_id)),
                    })
                    .collect(),
                "arrears" => s
                    .arrears(today, CANDIDATES)?
                    .rows
                    .into_iter()
                    .map(|a| SampleRecordDto {
                        id: a.policy_id.to_string(),
                        name: format!("{} ({})", a.policy_number, names(a.contact_id)),
                    })
                    .collect(),
                "task" | "overdue_task" => s
                    .list_tasks(
                        if kind == "task" {
                            crm_core::TaskFilter::Open
                        } else {
                            crm_core::TaskFilter::Overdue
                        },
                        today,
                        CANDIDATES,
                    )?
                    .rows
                    .into_iter()
                    .map(|t| SampleRecordDto {
                        id: t.id.to_string(),
                        name: t.title,
                    })
                    .collect(),
                _ => Vec::new(),
            })
        })
    }

    /// Each condition of a model on one record (one of
    /// [`App::studio_sample_records`]), as the wizard shows it while it is
    /// built: the model's own generated checks, run with read permissions
    /// only.
    pub fn studio_sample(&self, model: &str, record: &str) -> ApiResult<Vec<StudioSampleDto>> {
        let mut m = parse_model(model)?;
        // Only the conditions matter here: an automation still being built
        // (no action yet, a tag not typed) is sampled all the same.
        m.actions = vec![wizard::ActionSpec::Notify {
            message: "sample".into(),
            level: "info".into(),
        }];
        if m.name.trim().is_empty() {
            m.name = "sample".into();
        }
        let g = wizard::build(&m).map_err(wizard_error)?;
        if !g.script.contains("\nfn sample(id)") {
            return Err(ApiError::invalid(
                "record",
                "this trigger's records cannot be sampled; the dry run shows each one",
            ));
        }
        let s = self.session()?;
        let limits = {
            let store = crate::lock_store(&s)?;
            crm_plugins::Limits::for_profile(&store)
                .map_err(|e| ApiError::new(ErrorCode::Plugin, e))?
        };
        let ctx = crm_plugins::Context {
            grants: [
                "contacts:read",
                "policies:read",
                "payments:read",
                "tasks:read",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            store: Some(s.rt.store().clone()),
            plugin_id: None,
            settings: Default::default(),
            services: Default::default(),
        };
        let out = crm_plugins::Sandbox::new(limits)
            .call(&g.script, "sample", vec![record.to_string().into()], ctx)
            .map_err(|e| ApiError::invalid("record", e.message))?;
        Ok(out
            .value
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|r| StudioSampleDto {
                        holds: r["holds"].as_bool().unwrap_or(false),
                        seen: r["seen"].as_str().unwrap_or_default().to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default())
    }
}
