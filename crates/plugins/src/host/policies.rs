//! The `policies` and `payments` modules: read-only views of policies,
//! renewals, premium schedules and arrears.

use rhai::{Dynamic, Engine, FuncRegistration, Module, INT};

use super::{core_err, id_of, read, read_all, record, today, HostResult};

pub(super) fn register_policies(engine: &mut Engine) {
    let mut m = Module::new();
    func!(
        m,
        "list",
        ["contact_id: &str", "Array"],
        "Policies of a contact, or all policies for \"\". Needs policies:read.",
        |contact: &str| -> HostResult<Dynamic> {
            let contact = if contact.is_empty() {
                None
            } else {
                Some(id_of("contact", contact)?)
            };
            read_all("policies:read", "the list of policies", |s, budget| {
                s.list_policies(contact, budget)
            })
        }
    );
    func!(
        m,
        "get",
        ["id: &str", "Map"],
        "One policy by id. Needs policies:read.",
        |id: &str| -> HostResult<Dynamic> {
            read("policies:read", |s, _| {
                let p = s.policy(id_of("policy", id)?).map_err(core_err)?;
                Ok((record(&p)?, 1))
            })
        }
    );
    func!(
        m,
        "renewals_due",
        ["days: i64", "Array"],
        "Active policies expiring within `days` days from today. Needs policies:read.",
        |days: INT| -> HostResult<Dynamic> {
            read_all("policies:read", "the list of renewals", |s, budget| {
                s.renewals_due(today(), days.clamp(0, 3660) as u32, budget)
            })
        }
    );
    engine.register_static_module("policies", m.into());

    let mut m = Module::new();
    func!(
        m,
        "of_policy",
        ["policy_id: &str", "Array"],
        "A policy's premium schedule and payments. Needs payments:read.",
        |policy: &str| -> HostResult<Dynamic> {
            let policy = id_of("policy", policy)?;
            read_all("payments:read", "the policy's schedule", |s, budget| {
                Ok(crm_core::Listed::cut(s.payments_of(policy)?, budget))
            })
        }
    );
    func!(
        m,
        "arrears",
        ["Array"],
        "Policies with unpaid instalments past due today, with the amount and days overdue. Needs payments:read.",
        || -> HostResult<Dynamic> {
            read_all("payments:read", "the list of arrears", |s, budget| {
                s.arrears(today(), budget)
            })
        }
    );
    engine.register_static_module("payments", m.into());
}
