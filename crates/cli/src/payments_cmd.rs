//! `crm payments …`: premium schedules, payments and arrears.

use anyhow::Result;
use clap::Subcommand;
use crm_core::normalize::format_minor;
use crm_core::parse_id;

use crate::{date_arg, Profile};

#[derive(Subcommand)]
pub enum PaymentsCmd {
    /// List a policy's instalments and payments, or all arrears.
    List {
        /// The policy.
        #[arg(long, required_unless_present = "arrears")]
        policy: Option<String>,
        /// List every policy in arrears instead.
        #[arg(long)]
        arrears: bool,
        /// Arrears as of this date (default today).
        #[arg(long)]
        on: Option<String>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Create a policy's premium schedule (idempotent).
    Schedule {
        /// The policy id.
        policy: String,
    },
    /// Record a payment against a policy.
    Add {
        /// The policy id.
        #[arg(long)]
        policy: String,
        /// Amount, e.g. 42.50.
        #[arg(long)]
        amount: String,
        /// direct_debit, card, bank_transfer, cash or cheque.
        #[arg(long)]
        method: String,
        /// Date paid (default today).
        #[arg(long)]
        date: Option<String>,
        /// Bank or card reference.
        #[arg(long)]
        reference: Option<String>,
    },
}

/// `crm payments …`.
pub fn run(profile: &mut Profile, cmd: PaymentsCmd) -> Result<()> {
    match cmd {
        PaymentsCmd::List {
            policy,
            arrears,
            on,
            json,
        } => {
            let store = profile.store()?;
            if arrears {
                let listed = store.arrears(date_arg("on", &on)?, crate::LIST_LIMIT)?;
                crate::say_if_cut("policies in arrears (the oldest)", listed.more);
                let list = listed.rows;
                if json {
                    println!("{}", serde_json::to_string_pretty(&list)?);
                } else if list.is_empty() {
                    println!("no arrears");
                } else {
                    for a in list {
                        println!(
                            "{}  {:<14} owes {:>10} over {} instalment(s) since {}  (contact {})",
                            a.policy_id,
                            a.policy_number,
                            format_minor(a.outstanding_minor),
                            a.instalments,
                            a.oldest_due,
                            a.contact_id
                        );
                    }
                }
            } else if let Some(p) = policy {
                let list = store.payments_of(parse_id("policy", &p)?)?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&list)?);
                } else if list.is_empty() {
                    println!("no instalments; create them with `crm payments schedule {p}`");
                } else {
                    for pay in list {
                        println!(
                            "{}  due {}  {:>10}  paid {:>10} {} {}",
                            pay.id,
                            pay.due_date,
                            format_minor(pay.amount_due_minor),
                            format_minor(pay.amount_paid_minor),
                            pay.paid_date.as_deref().unwrap_or(""),
                            pay.method.as_deref().unwrap_or("")
                        );
                    }
                }
            }
        }
        PaymentsCmd::Schedule { policy } => {
            let store = profile.store()?;
            let made = store.schedule_premiums(parse_id("policy", &policy)?)?;
            println!("created {} instalment(s)", made.len());
        }
        PaymentsCmd::Add {
            policy,
            amount,
            method,
            date,
            reference,
        } => {
            let store = profile.store()?;
            let paid = date_arg("date", &date)?;
            let p = store.record_payment(
                parse_id("policy", &policy)?,
                &amount,
                paid,
                &method,
                reference.as_deref(),
            )?;
            println!("{}", p.id);
        }
    }
    Ok(())
}
