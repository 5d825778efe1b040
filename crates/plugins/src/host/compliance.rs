//! The `compliance` module: policies and SOPs under document control,
//! their read-and-sign state and the policies dashboard's counts. Behind
//! `staff:read`: who has signed what is about people. As everywhere in
//! compliance, a plugin sees only what its user may.

use crm_compliance::{policies, readsign};
use rhai::{Dynamic, Engine, FuncRegistration, Module};

use super::{compliance_err, fits, read_as_user, record, records, within, HostResult};
use crate::contract::compliance::{AcknowledgementsView, DashboardView};

fn err(e: crm_compliance::ComplianceError) -> Box<rhai::EvalAltResult> {
    compliance_err("compliance", e)
}

pub(super) fn register_compliance(engine: &mut Engine) {
    let mut m = Module::new();
    func!(
        m,
        "policies",
        ["Array"],
        "The policies and SOPs the user may see (drafts for admins only), by title, with their review dates and approval. Needs staff:read.",
        || -> HostResult<Dynamic> {
            read_as_user("staff:read", |s, budget| {
                let today = crm_compliance::dates::today();
                let list = within("the list of policies", policies::list(s, today).map_err(err)?, budget)?;
                records(&list)
            })
        }
    );
    func!(
        m,
        "policy",
        ["doc_id: &str", "Map"],
        "One policy or SOP by its document id. Needs staff:read.",
        |doc: &str| -> HostResult<Dynamic> {
            read_as_user("staff:read", |s, _| {
                let p = policies::get(s, doc, crm_compliance::dates::today()).map_err(err)?;
                Ok((record(&p)?, 1))
            })
        }
    );
    func!(
        m,
        "acknowledgements",
        ["doc_id: &str", "Map"],
        "A policy's read-and-sign state: who must read it among the staff the user may see, when by, and who has signed the version that counts. Needs staff:read.",
        |doc: &str| -> HostResult<Dynamic> {
            read_as_user("staff:read", |s, budget| {
                let st = readsign::status(s, doc, crm_compliance::dates::today()).map_err(err)?;
                let view = AcknowledgementsView::of(&st);
                fits("the people who must read the policy", view.people(), budget)?;
                Ok((record(&view)?, view.people() + 1))
            })
        }
    );
    func!(
        m,
        "dashboard",
        ["Map"],
        "The policies dashboard's counts: policies due for review within 60 days, overdue, awaiting a second admin's approval, approved but not published, and the CQC quality statements no current policy evidences. Needs staff:read.",
        || -> HostResult<Dynamic> {
            read_as_user("staff:read", |s, budget| {
                let today = crm_compliance::dates::today();
                let d = policies::dashboard(s, today).map_err(err)?;
                let n = policies::list(s, today).map_err(err)?.len();
                fits("the list of policies", n, budget)?;
                Ok((record(&DashboardView::of(&d, n))?, n.max(1)))
            })
        }
    );
    engine.register_static_module("compliance", m.into());
}
