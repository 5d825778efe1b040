//! The `staff` module: staff records, their recruitment checklists and
//! supervisions, behind `staff:read` and `staff:write`. A plugin acts for
//! its user, and `crm_compliance::Access` limits it to what that user may
//! see and change: admins everyone, managers their people down the line,
//! staff their own record, anyone else nothing. Secret numbers (a DBS
//! certificate's, a right-to-work document's) never reach a script.

use crm_compliance::{checks, staff, supervision};
use rhai::{Dynamic, Engine, FuncRegistration, Map, Module};

use super::{
    compliance_err, map_json, map_text, read_as_user, record, records, within, write, HostResult,
};
use crate::contract::compliance::CheckView;

fn err(e: crm_compliance::ComplianceError) -> Box<rhai::EvalAltResult> {
    compliance_err("staff", e)
}

fn list(q: &staff::StaffQuery) -> HostResult<Dynamic> {
    read_as_user("staff:read", |s, budget| {
        let all = within("the list of staff", staff::list(s, q).map_err(err)?, budget)?;
        records(&all)
    })
}

pub(super) fn register_staff(engine: &mut Engine) {
    let mut m = Module::new();
    func!(
        m,
        "list",
        ["Array"],
        "The staff records the user may see (admins everyone, managers their people down the line, staff their own, anyone else none), by name, without those who have left. Needs staff:read.",
        || -> HostResult<Dynamic> { list(&staff::StaffQuery::default()) }
    );
    func!(
        m,
        "list",
        ["query: Map", "Array"],
        "The staff records the user may see matching `query`: `team`, `role`, `text` (in the name), `include_left` (true: people who have left too). Needs staff:read.",
        |q: Map| -> HostResult<Dynamic> {
            list(&staff::StaffQuery {
                team: map_text(&q, "team"),
                role: map_text(&q, "role"),
                text: map_text(&q, "text"),
                include_left: q
                    .get("include_left")
                    .and_then(|v| v.as_bool().ok())
                    .unwrap_or(false),
            })
        }
    );
    func!(
        m,
        "get",
        ["id: &str", "Map"],
        "One staff record by id; an error (\"no staff member\") for one the user may not see. Needs staff:read.",
        |id: &str| -> HostResult<Dynamic> {
            read_as_user("staff:read", |s, _| {
                Ok((record(&staff::get(s, id).map_err(err)?)?, 1))
            })
        }
    );
    func!(
        m,
        "me",
        ["Map"],
        "The user's own staff record, or () when their account is linked to none. Needs staff:read.",
        || -> HostResult<Dynamic> {
            read_as_user("staff:read", |s, _| {
                let access = crm_compliance::Access::of(s).map_err(err)?;
                match access.staff_id {
                    Some(id) => Ok((record(&staff::get(s, &id).map_err(err)?)?, 1)),
                    None => Ok((Dynamic::UNIT, 1)),
                }
            })
        }
    );
    func!(
        m,
        "checklist",
        ["staff_id: &str", "Array"],
        "A person's recruitment checklist (Schedule 3), every item listed, missing ones too; certificate and document numbers show as \"(recorded)\", never their value. Needs staff:read.",
        |id: &str| -> HostResult<Dynamic> {
            read_as_user("staff:read", |s, _| {
                let list = checks::checklist(s, id, crm_compliance::dates::today()).map_err(err)?;
                let views: Vec<CheckView> = list.iter().map(CheckView::of).collect();
                records(&views)
            })
        }
    );
    func!(
        m,
        "supervisions",
        ["staff_id: &str", "Array"],
        "Where a person's supervisions and appraisals stand: the last held, when the next is due, and whether it is overdue. Needs staff:read.",
        |id: &str| -> HostResult<Dynamic> {
            read_as_user("staff:read", |s, _| {
                let person = staff::get(s, id).map_err(err)?;
                let list = supervision::schedules(s, &person, crm_compliance::dates::today())
                    .map_err(err)?;
                records(&list)
            })
        }
    );
    func!(
        m,
        "set_check",
        ["staff_id: &str", "item: &str", "status: &str", "details: Map", "note: &str", "Map"],
        "Record an item of a person's checklist (admins; the person's managers): `item` (`identity`, `dbs`, `right_to_work`…), `status` (`missing`, `received`, `verified`, `not_required`), the item's fields (they replace the stored ones) and a note (\"\" for none). Needs staff:write.",
        |id: &str, item: &str, status: &str, details: Map, note: &str| -> HostResult<Dynamic> {
            let details = map_json(details)?;
            write("staff:write", 1, |s| {
                let c = checks::set(s, id, item, status, &details, Some(note)).map_err(err)?;
                record(&CheckView::of(&c))
            })
        }
    );
    func!(
        m,
        "record_supervision",
        ["staff_id: &str", "kind: &str", "date: &str", "supervisor: &str", "notes: &str", "Map"],
        "Record a supervision or appraisal held (admins; the person's managers): `kind` \"supervision\" or \"appraisal\", the day it was held (not in the future), who held it, notes (\"\" for none). Needs staff:write.",
        |id: &str, kind: &str, date: &str, supervisor: &str, notes: &str| -> HostResult<Dynamic> {
            write("staff:write", 1, |s| {
                let held = supervision::record(
                    s,
                    id,
                    kind,
                    date,
                    supervisor,
                    Some(notes),
                    crm_compliance::dates::today(),
                )
                .map_err(err)?;
                record(&held)
            })
        }
    );
    engine.register_static_module("staff", m.into());
}
