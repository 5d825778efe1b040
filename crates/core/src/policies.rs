//! Insurance policies, premium schedules, payments and arrears.
//!
//! Money is kept in minor units (pence, cents) as integers. Arrears are never
//! stored: they are derived from the instalments due before a date and what
//! was paid against them, so they cannot drift from the payments.

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{CoreError, Result, ValidationError};
use crate::normalize;
use crate::records::{self, Listed};
use crate::store::{Store, Table};

/// How often the premium is paid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    /// Every month.
    Monthly,
    /// Every three months.
    Quarterly,
    /// Every six months.
    SemiAnnual,
    /// Once a year.
    Annual,
    /// Once, up front.
    Single,
}

impl Frequency {
    /// Parse from text.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_lowercase().as_str() {
            "monthly" | "month" | "monatlich" => Self::Monthly,
            "quarterly" | "quarter" | "vierteljährlich" => Self::Quarterly,
            "semi_annual" | "semiannual" | "half-yearly" | "halbjährlich" => Self::SemiAnnual,
            "annual" | "annually" | "yearly" | "jährlich" => Self::Annual,
            "single" | "once" | "einmalig" => Self::Single,
            _ => return None,
        })
    }

    fn months(self) -> Option<u32> {
        match self {
            Self::Monthly => Some(1),
            Self::Quarterly => Some(3),
            Self::SemiAnnual => Some(6),
            Self::Annual => Some(12),
            Self::Single => None,
        }
    }
}

/// Policy status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyStatus {
    /// Quoted, not yet in force.
    Quoted,
    /// In force.
    Active,
    /// Lapsed for non-payment.
    Lapsed,
    /// Cancelled.
    Cancelled,
    /// Ran to its end.
    Expired,
}

impl PolicyStatus {
    /// Parse from text.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_lowercase().as_str() {
            "quoted" | "quote" => Self::Quoted,
            "active" | "in force" => Self::Active,
            "lapsed" => Self::Lapsed,
            "cancelled" | "canceled" => Self::Cancelled,
            "expired" => Self::Expired,
            _ => return None,
        })
    }
}

/// An insurance policy held by a contact.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// UUIDv7.
    pub id: Uuid,
    /// The holder.
    pub contact_id: Uuid,
    /// The carrier's policy number.
    pub policy_number: String,
    /// The insurer.
    pub carrier: String,
    /// Line of business (motor, home, life, …).
    pub line_of_business: String,
    /// Premium per payment period, in minor units.
    pub premium_minor: i64,
    /// ISO 4217 currency code.
    pub currency: String,
    /// Payment frequency.
    pub payment_frequency: Frequency,
    /// In force from (ISO date).
    pub effective_date: String,
    /// Ends (ISO date); renewal due then.
    pub expiry_date: Option<String>,
    /// Status.
    pub status: PolicyStatus,
}

/// Input for a new policy, as text.
#[derive(Clone, Debug, Default)]
pub struct PolicyDraft {
    /// The holder.
    pub contact_id: Option<Uuid>,
    /// Policy number.
    pub policy_number: String,
    /// Carrier.
    pub carrier: String,
    /// Line of business.
    pub line_of_business: String,
    /// Premium per period ("123.45").
    pub premium: String,
    /// Currency (default GBP).
    pub currency: Option<String>,
    /// Frequency (default monthly).
    pub frequency: Option<String>,
    /// Effective date.
    pub effective: String,
    /// Expiry date (default: a year after effective).
    pub expiry: Option<String>,
    /// Status (default active).
    pub status: Option<String>,
}

/// An instalment of premium due, and what was paid against it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Payment {
    /// UUIDv7.
    pub id: Uuid,
    /// The policy.
    pub policy_id: Uuid,
    /// When it is due (ISO date).
    pub due_date: String,
    /// Amount due, minor units.
    pub amount_due_minor: i64,
    /// Amount paid, minor units.
    pub amount_paid_minor: i64,
    /// When it was paid (ISO date).
    pub paid_date: Option<String>,
    /// How (direct_debit, card, bank_transfer, cash, cheque).
    pub method: Option<String>,
    /// Bank or card reference.
    pub reference: Option<String>,
}

impl Payment {
    /// What is still owed on this instalment.
    pub fn outstanding_minor(&self) -> i64 {
        (self.amount_due_minor - self.amount_paid_minor).max(0)
    }
}

/// Arrears of one policy on a date.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Arrears {
    /// The policy.
    pub policy_id: Uuid,
    /// Its number.
    pub policy_number: String,
    /// The holder.
    pub contact_id: Uuid,
    /// Sum outstanding on instalments due before the date, minor units.
    pub outstanding_minor: i64,
    /// How many instalments are unpaid or part-paid.
    pub instalments: usize,
    /// The oldest unpaid due date.
    pub oldest_due: String,
}

/// The payment methods a payment may record.
pub const PAYMENT_METHODS: &[&str] = &["direct_debit", "card", "bank_transfer", "cash", "cheque"];

fn field_err(field: &str, reason: impl Into<String>) -> CoreError {
    CoreError::Invalid(ValidationError::new(field, reason))
}

impl Store {
    /// Add a policy to a contact.
    pub fn create_policy(&mut self, d: &PolicyDraft) -> Result<Policy> {
        let contact_id = d
            .contact_id
            .ok_or_else(|| field_err("contact", "a policy needs a holder"))?;
        self.contact(contact_id)?;
        let req = |f: &str, v: &str| -> Result<String> {
            let t = v.trim();
            if t.is_empty() {
                return Err(field_err(f, "is required"));
            }
            if t.chars().count() > 200 {
                return Err(field_err(f, "longer than 200 characters"));
            }
            Ok(t.to_string())
        };
        let policy_number = req("number", &d.policy_number)?;
        let carrier = req("carrier", &d.carrier)?;
        let line_of_business = req("line", &d.line_of_business)?.to_lowercase();
        let premium_minor =
            normalize::money_minor(&d.premium).map_err(|r| field_err("premium", r))?;
        if premium_minor < 0 {
            return Err(field_err("premium", "cannot be negative"));
        }
        let currency = d.currency.as_deref().unwrap_or("GBP").trim().to_uppercase();
        if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(field_err(
                "currency",
                format!("{currency:?} is not a currency code (e.g. GBP, EUR)"),
            ));
        }
        let payment_frequency = match &d.frequency {
            None => Frequency::Monthly,
            Some(f) => Frequency::parse(f).ok_or_else(|| {
                field_err(
                    "frequency",
                    format!("{f:?} is not monthly, quarterly, semi_annual, annual or single"),
                )
            })?,
        };
        let effective = normalize::date(&d.effective).map_err(|r| field_err("effective", r))?;
        let expiry = match &d.expiry {
            Some(e) => normalize::date(e).map_err(|r| field_err("expiry", r))?,
            None => effective
                .checked_add_months(Months::new(12))
                .and_then(|d| d.pred_opt())
                .ok_or_else(|| field_err("effective", "date out of range"))?,
        };
        if expiry < effective {
            return Err(field_err(
                "expiry",
                format!("{expiry} is before the effective date {effective}"),
            ));
        }
        let status = match &d.status {
            None => PolicyStatus::Active,
            Some(s) => PolicyStatus::parse(s).ok_or_else(|| {
                field_err(
                    "status",
                    format!("{s:?} is not quoted, active, lapsed, cancelled or expired"),
                )
            })?,
        };
        let exists: bool = self.conn().query_row(
            "SELECT EXISTS (SELECT 1 FROM policies WHERE deleted = 0 AND carrier = ?1 AND policy_number = ?2)",
            [&carrier, &policy_number],
            |r| r.get(0),
        )?;
        if exists {
            return Err(field_err(
                "number",
                format!("{carrier} policy {policy_number} already exists"),
            ));
        }
        let p = Policy {
            id: Uuid::now_v7(),
            contact_id,
            policy_number,
            carrier,
            line_of_business,
            premium_minor,
            currency,
            payment_frequency,
            effective_date: effective.to_string(),
            expiry_date: Some(expiry.to_string()),
            status,
        };
        let mut tx = self.write(self.user_actor())?;
        records::save(&mut tx, Table::Policies, p.id, &p)?;
        // Holding an active policy makes a prospect a client.
        if status == PolicyStatus::Active {
            if let Some(mut c) = tx.get_contact(contact_id)? {
                if c.stage != crate::Stage::Client {
                    c.stage = crate::Stage::Client;
                    tx.save_contact(&c)?;
                }
            }
        }
        tx.commit()?;
        Ok(p)
    }

    /// A policy by id.
    pub fn policy(&self, id: Uuid) -> Result<Policy> {
        records::get(self.conn(), Table::Policies, id)
    }

    /// Policies of one contact, or all (newest effective first), at most
    /// `limit`.
    pub fn list_policies(&self, contact: Option<Uuid>, limit: usize) -> Result<Listed<Policy>> {
        match contact {
            Some(c) => records::list_limited(
                self.conn(),
                Table::Policies,
                "contact_id = ?1",
                &[&c.to_string()],
                "effective_date DESC, id",
                limit,
            ),
            None => records::list_limited(
                self.conn(),
                Table::Policies,
                "",
                &[],
                "effective_date DESC, id",
                limit,
            ),
        }
    }

    /// Active policies whose expiry falls within `days` of `today`, soonest
    /// first, at most `limit`.
    pub fn renewals_due(
        &self,
        today: NaiveDate,
        days: u32,
        limit: usize,
    ) -> Result<Listed<Policy>> {
        let [from, until] = renewal_window(today, days);
        records::list_limited(
            self.conn(),
            Table::Policies,
            RENEWALS_DUE,
            &[&from, &until],
            "expiry_date, id",
            limit,
        )
    }

    /// How many policies [`Self::renewals_due`] would list, counted, not
    /// loaded.
    pub fn count_renewals_due(&self, today: NaiveDate, days: u32) -> Result<usize> {
        let [from, until] = renewal_window(today, days);
        records::count(self.conn(), Table::Policies, RENEWALS_DUE, &[&from, &until])
    }

    /// Create the premium schedule of a policy: one instalment per period
    /// from its effective date to its expiry. Idempotent, on this device
    /// and across devices: an instalment's id comes from its policy and due
    /// date ([`instalment_id`]), so two devices that schedule the same
    /// policy before syncing make the same rows, which the server merges
    /// into one; dates that already have an instalment are skipped. Returns
    /// the instalments created.
    pub fn schedule_premiums(&mut self, policy_id: Uuid) -> Result<Vec<Payment>> {
        let p = self.policy(policy_id)?;
        let start = normalize::date(&p.effective_date).map_err(|r| field_err("effective", r))?;
        let end = match &p.expiry_date {
            Some(e) => normalize::date(e).map_err(|r| field_err("expiry", r))?,
            None => start,
        };
        let mut dates = vec![start];
        if let Some(m) = p.payment_frequency.months() {
            let mut i = 1;
            while let Some(d) = start.checked_add_months(Months::new(m * i)) {
                if d > end || i > 1200 {
                    break;
                }
                dates.push(d);
                i += 1;
            }
        }
        let existing: Vec<Payment> = self.stored_payments(policy_id)?;
        let mut made = Vec::new();
        let mut tx = self.write(self.user_actor())?;
        for d in dates {
            let ds = d.to_string();
            let id = instalment_id(policy_id, &ds);
            let scheduled =
                |e: &Payment| e.id == id || (e.amount_due_minor > 0 && e.due_date == ds);
            if existing.iter().any(scheduled)
                || crate::store::load_any_row(tx.conn(), Table::Payments, id)?.is_some()
            {
                continue;
            }
            let pay = Payment {
                id,
                policy_id,
                due_date: ds,
                amount_due_minor: p.premium_minor,
                amount_paid_minor: 0,
                paid_date: None,
                method: None,
                reference: None,
            };
            records::save(&mut tx, Table::Payments, pay.id, &pay)?;
            made.push(pay);
        }
        tx.commit()?;
        Ok(made)
    }

    /// Record a payment received for a policy: a row of its own (amount
    /// due 0, amount paid the payment). What it settles is worked out when
    /// read ([`Store::payments_of`]): the oldest instalments first.
    pub fn record_payment(
        &mut self,
        policy_id: Uuid,
        amount: &str,
        paid: NaiveDate,
        method: &str,
        reference: Option<&str>,
    ) -> Result<Payment> {
        self.policy(policy_id)?;
        let amount_minor = normalize::money_minor(amount).map_err(|r| field_err("amount", r))?;
        if amount_minor <= 0 {
            return Err(field_err("amount", "must be more than zero"));
        }
        let method = method.trim().to_lowercase().replace([' ', '-'], "_");
        if !PAYMENT_METHODS.contains(&method.as_str()) {
            return Err(field_err(
                "method",
                format!("{method:?} is not one of {}", PAYMENT_METHODS.join(", ")),
            ));
        }
        // Money received is a record of its own, never added to a total:
        // two devices that each record a payment before syncing keep both.
        let pay = Payment {
            id: Uuid::now_v7(),
            policy_id,
            due_date: paid.to_string(),
            amount_due_minor: 0,
            amount_paid_minor: amount_minor,
            paid_date: Some(paid.to_string()),
            method: Some(method),
            reference: reference.map(str::to_string),
        };
        let mut tx = self.write(self.user_actor())?;
        records::save(&mut tx, Table::Payments, pay.id, &pay)?;
        tx.commit()?;
        Ok(pay)
    }

    /// A policy's instalments, oldest due first, each with what was paid
    /// of it: the policy's payments settle the oldest instalments first
    /// ([`settle`]); money beyond every instalment shows as a payment on
    /// its own date.
    pub fn payments_of(&self, policy_id: Uuid) -> Result<Vec<Payment>> {
        Ok(settle(self.stored_payments(policy_id)?))
    }

    /// A policy's stored payment rows: instalments and payments received
    /// (all of them: what was paid of each instalment depends on every
    /// one; a schedule is bounded by its policy's term).
    fn stored_payments(&self, policy_id: Uuid) -> Result<Vec<Payment>> {
        records::list(
            self.conn(),
            Table::Payments,
            "policy_id = ?1",
            &[&policy_id.to_string()],
            "due_date, id",
            usize::MAX,
            0,
        )
    }

    /// Policies in arrears on `today`: instalments due before today not
    /// paid in full, after the policy's payments settled the oldest first;
    /// the `limit` with the oldest arrears. Every policy's rows are read
    /// (what is owed depends on all of them) but one policy's at a time.
    pub fn arrears(&self, today: NaiveDate, limit: usize) -> Result<Listed<Arrears>> {
        let today = today.to_string();
        let mut out = Vec::new();
        let mut policy_rows: Vec<Payment> = Vec::new();
        records::each_fields(
            self.conn(),
            Table::Payments,
            "policy_id IN (SELECT id FROM policies WHERE deleted = 0)",
            &[],
            "policy_id, due_date, id",
            usize::MAX,
            0,
            |fields| {
                let p: Payment = records::from_listed(fields)?;
                if policy_rows
                    .first()
                    .is_some_and(|f| f.policy_id != p.policy_id)
                {
                    out.extend(self.arrears_of(std::mem::take(&mut policy_rows), &today)?);
                }
                policy_rows.push(p);
                Ok(())
            },
        )?;
        out.extend(self.arrears_of(policy_rows, &today)?);
        out.sort_by(|a, b| (&a.oldest_due, a.policy_id).cmp(&(&b.oldest_due, b.policy_id)));
        Ok(Listed::cut(out, limit))
    }

    /// What one policy (its stored rows) is in arrears on `today`, if
    /// anything.
    fn arrears_of(&self, rows: Vec<Payment>, today: &str) -> Result<Option<Arrears>> {
        let Some(policy_id) = rows.first().map(|p| p.policy_id) else {
            return Ok(None);
        };
        let late: Vec<Payment> = settle(rows)
            .into_iter()
            .filter(|p| p.due_date.as_str() < today && p.outstanding_minor() > 0)
            .collect();
        let Some(oldest) = late.first() else {
            return Ok(None);
        };
        let policy = self.policy(policy_id)?;
        Ok(Some(Arrears {
            policy_id: policy.id,
            policy_number: policy.policy_number,
            contact_id: policy.contact_id,
            outstanding_minor: late.iter().map(Payment::outstanding_minor).sum(),
            instalments: late.len(),
            oldest_due: oldest.due_date.clone(),
        }))
    }
}

/// Active policies expiring between `?1` and `?2`.
const RENEWALS_DUE: &str = "status = 'active' AND expiry_date >= ?1 AND expiry_date <= ?2";

/// The dates [`RENEWALS_DUE`] is asked between.
fn renewal_window(today: NaiveDate, days: u32) -> [String; 2] {
    let until = today + chrono::Days::new(days.into());
    [today.to_string(), until.to_string()]
}

/// The id of a policy's instalment due on `due_date`: the same on every
/// device, so schedules made on two devices before they sync are one.
pub fn instalment_id(policy_id: Uuid, due_date: &str) -> Uuid {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"crm instalment\0");
    h.update(policy_id.as_bytes());
    h.update(due_date.as_bytes());
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// A policy's instalments with what was paid of each: every amount paid
/// (payments received, and what older builds added to an instalment
/// itself) settles the oldest instalments first, in the order it was paid.
/// Each instalment shows the date, method and reference of the last
/// payment that went into it; money left over shows as a payment of its
/// own. `rows` are one policy's stored rows.
pub fn settle(rows: Vec<Payment>) -> Vec<Payment> {
    // A payment received is a row with nothing due and money paid; every
    // other row (odd amounts from elsewhere included) is kept as it is.
    let (mut paid, mut due): (Vec<Payment>, Vec<Payment>) = rows
        .into_iter()
        .partition(|p| p.amount_due_minor == 0 && p.amount_paid_minor > 0);
    // Older builds added payments to the instalment itself: that money
    // counts as paid in, like a payment received, on its date.
    for d in &mut due {
        if d.amount_paid_minor > 0 {
            paid.push(Payment {
                id: d.id,
                due_date: d.paid_date.clone().unwrap_or_else(|| d.due_date.clone()),
                amount_due_minor: 0,
                ..d.clone()
            });
            d.amount_paid_minor = 0;
        }
    }
    due.sort_by(|a, b| (&a.due_date, a.id).cmp(&(&b.due_date, b.id)));
    paid.sort_by(|a, b| (&a.due_date, a.id).cmp(&(&b.due_date, b.id)));
    let mut left_over = Vec::new();
    let mut i = 0;
    for p in paid {
        let mut money = p.amount_paid_minor;
        while money > 0 && i < due.len() {
            let take = due[i].outstanding_minor().min(money);
            due[i].amount_paid_minor += take;
            due[i].paid_date = p.paid_date.clone();
            due[i].method = p.method.clone();
            due[i].reference = p.reference.clone();
            money -= take;
            if due[i].outstanding_minor() == 0 {
                i += 1;
            }
        }
        if money > 0 {
            left_over.push(Payment {
                amount_due_minor: money,
                amount_paid_minor: money,
                ..p
            });
        }
    }
    due.extend(left_over);
    due
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(due: &str, due_minor: i64, paid_minor: i64, paid: Option<&str>) -> Payment {
        Payment {
            id: Uuid::now_v7(),
            policy_id: Uuid::nil(),
            due_date: due.into(),
            amount_due_minor: due_minor,
            amount_paid_minor: paid_minor,
            paid_date: paid.map(str::to_string),
            method: paid.map(|_| "card".to_string()),
            reference: None,
        }
    }

    /// Payments received settle the oldest instalments first, whatever
    /// order they were stored in; two payments recorded on two devices
    /// both count; an older build's payment on the instalment itself
    /// counts once; money beyond every instalment shows on its own.
    #[test]
    fn payments_settle_the_oldest_instalments_first() {
        let rows = vec![
            row("2025-02-01", 10_000, 0, None),
            row("2025-01-01", 10_000, 0, None),
            row("2025-01-05", 0, 4_250, Some("2025-01-05")),
            row("2025-01-06", 0, 4_250, Some("2025-01-06")),
        ];
        let s = settle(rows);
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].due_date.as_str(), s[0].amount_paid_minor),
            ("2025-01-01", 8_500)
        );
        assert_eq!(s[0].paid_date.as_deref(), Some("2025-01-06"));
        assert_eq!(s[1].amount_paid_minor, 0);
        // Older build: 30.00 on the first instalment itself, then 80.00 and
        // 100.00 received: both instalments settled, 10.00 left over.
        let rows = vec![
            row("2025-01-01", 10_000, 3_000, Some("2025-01-02")),
            row("2025-02-01", 10_000, 0, None),
            row("2025-01-10", 0, 8_000, Some("2025-01-10")),
            row("2025-02-10", 0, 10_000, Some("2025-02-10")),
        ];
        let s = settle(rows);
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].amount_paid_minor, 10_000);
        assert_eq!(s[0].paid_date.as_deref(), Some("2025-01-10"));
        assert_eq!(s[1].amount_paid_minor, 10_000);
        assert_eq!(s[1].paid_date.as_deref(), Some("2025-02-10"));
        assert_eq!(
            (s[2].amount_due_minor, s[2].amount_paid_minor),
            (1_000, 1_000)
        );
        let total: i64 = s.iter().map(|p| p.amount_paid_minor).sum();
        assert_eq!(total, 21_000, "every penny counted once");
    }

    #[test]
    fn an_instalments_id_depends_only_on_its_policy_and_date() {
        let p = Uuid::now_v7();
        assert_eq!(
            instalment_id(p, "2025-01-01"),
            instalment_id(p, "2025-01-01")
        );
        assert_ne!(
            instalment_id(p, "2025-01-01"),
            instalment_id(p, "2025-02-01")
        );
        assert_ne!(
            instalment_id(p, "2025-01-01"),
            instalment_id(Uuid::now_v7(), "2025-01-01")
        );
    }
}
