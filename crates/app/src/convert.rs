//! Core records to DTOs. By hand: the wire format is ours to keep stable.

use serde::Serialize;

use crate::dto::{ActivityDto, ContactDto, ContactRow, PaymentDto, PolicyDto, TaskDto};
use crate::ApiError;

/// The snake_case name serde gives an enum value.
pub(crate) fn tag<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

pub(crate) fn id(kind: &'static str, raw: &str) -> Result<uuid::Uuid, ApiError> {
    crm_core::parse_id(kind, raw).map_err(|_| {
        ApiError::new(
            crate::ErrorCode::NotFound,
            format!("{raw:?} is not a {kind} id; open the {kind} from its list"),
        )
    })
}

pub(crate) fn contact_row(c: &crm_core::Contact) -> ContactRow {
    ContactRow {
        id: c.id.to_string(),
        display_name: c.display_name.clone(),
        company_name: c.company_name.clone(),
        stage: tag(&c.stage),
        owner: c.owner.clone(),
        tags: c.tags.clone(),
        email: c.emails.first().cloned(),
        phone: c.phones.first().cloned(),
        city: c.details.get("city").map(str::to_string),
    }
}

pub(crate) fn contact(c: &crm_core::Contact) -> ContactDto {
    ContactDto {
        id: c.id.to_string(),
        kind: tag(&c.kind),
        display_name: c.display_name.clone(),
        first_name: c.first_name.clone(),
        last_name: c.last_name.clone(),
        company_name: c.company_name.clone(),
        stage: tag(&c.stage),
        owner: c.owner.clone(),
        tags: c.tags.clone(),
        emails: c.emails.clone(),
        phones: c.phones.clone(),
        details: c
            .details
            .iter()
            .filter_map(|(f, v)| Some((f.name.to_string(), v?.to_string())))
            .collect(),
        date_of_birth: c.date_of_birth.clone(),
        custom: c.custom.clone(),
    }
}

pub(crate) fn policy(p: &crm_core::Policy) -> PolicyDto {
    PolicyDto {
        id: p.id.to_string(),
        contact_id: p.contact_id.to_string(),
        policy_number: p.policy_number.clone(),
        carrier: p.carrier.clone(),
        line_of_business: p.line_of_business.clone(),
        premium_minor: p.premium_minor,
        currency: p.currency.clone(),
        payment_frequency: tag(&p.payment_frequency),
        effective_date: p.effective_date.clone(),
        expiry_date: p.expiry_date.clone(),
        status: tag(&p.status),
    }
}

pub(crate) fn payment(p: &crm_core::Payment, today: &str) -> PaymentDto {
    PaymentDto {
        id: p.id.to_string(),
        policy_id: p.policy_id.to_string(),
        due_date: p.due_date.clone(),
        amount_due_minor: p.amount_due_minor,
        amount_paid_minor: p.amount_paid_minor,
        outstanding_minor: p.outstanding_minor(),
        paid_date: p.paid_date.clone(),
        method: p.method.clone(),
        reference: p.reference.clone(),
        overdue: p.outstanding_minor() > 0 && p.due_date.as_str() < today,
    }
}

pub(crate) fn task(t: &crm_core::Task, contact_name: Option<String>, today: &str) -> TaskDto {
    TaskDto {
        id: t.id.to_string(),
        title: t.title.clone(),
        due_date: t.due_date.clone(),
        status: tag(&t.status),
        contact_id: t.contact_id.map(|c| c.to_string()),
        contact_name,
        assignee: t.assignee.clone(),
        notes: t.notes.clone(),
        overdue: t.status == crm_core::TaskStatus::Open
            && t.due_date.as_deref().is_some_and(|d| d < today),
    }
}

/// A timeline entry; its author in words, as a history names them
/// (a colleague by email when a pull has named them).
pub(crate) fn activity(
    a: &crm_core::Activity,
    authors: &mut crate::history::Authors<'_>,
) -> Result<ActivityDto, ApiError> {
    Ok(ActivityDto {
        id: a.id.to_string(),
        kind: tag(&a.kind),
        body: a.body.clone(),
        occurred_at: a.occurred_at.clone(),
        actor: authors.of_text(&a.actor)?,
    })
}
