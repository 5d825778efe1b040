//! `crm policies …`: list policies (or renewals due) and add one.

use anyhow::Result;
use clap::Subcommand;
use crm_core::normalize::format_minor;
use crm_core::{parse_id, PolicyDraft};

use crate::{today, Profile};

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per run
pub enum PoliciesCmd {
    /// List policies.
    List {
        /// Only this contact's.
        #[arg(long)]
        contact: Option<String>,
        /// Only active policies expiring within DAYS.
        #[arg(long, value_name = "DAYS")]
        renewals: Option<u32>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Add a policy to a contact.
    Add {
        /// The holder's contact id.
        #[arg(long)]
        contact: String,
        /// Policy number.
        #[arg(long)]
        number: String,
        /// Insurer.
        #[arg(long)]
        carrier: String,
        /// Line of business (motor, home, life, …).
        #[arg(long)]
        line: String,
        /// Premium per payment period, e.g. 42.50.
        #[arg(long)]
        premium: String,
        /// Currency code.
        #[arg(long, default_value = "GBP")]
        currency: String,
        /// monthly, quarterly, semi_annual, annual or single.
        #[arg(long, default_value = "monthly")]
        frequency: String,
        /// Effective date.
        #[arg(long)]
        effective: String,
        /// Expiry date (default: a year after effective).
        #[arg(long)]
        expiry: Option<String>,
        /// quoted, active, lapsed, cancelled or expired.
        #[arg(long)]
        status: Option<String>,
    },
}

/// `crm policies …`.
pub fn run(profile: &mut Profile, cmd: PoliciesCmd) -> Result<()> {
    match cmd {
        PoliciesCmd::List {
            contact,
            renewals,
            json,
        } => {
            let store = profile.store()?;
            let listed = match (renewals, contact) {
                (Some(days), _) => store.renewals_due(today(), days, crate::LIST_LIMIT)?,
                (None, Some(c)) => {
                    store.list_policies(Some(parse_id("contact", &c)?), crate::LIST_LIMIT)?
                }
                (None, None) => store.list_policies(None, crate::LIST_LIMIT)?,
            };
            crate::say_if_cut("policies", listed.more);
            let list = listed.rows;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if list.is_empty() {
                println!("no policies");
            } else {
                for p in list {
                    println!(
                        "{}  {:<14} {:<16} {:<10} {:>10} {} {:?}  {} → {}  {:?}",
                        p.id,
                        p.policy_number,
                        p.carrier,
                        p.line_of_business,
                        format_minor(p.premium_minor),
                        p.currency,
                        p.payment_frequency,
                        p.effective_date,
                        p.expiry_date.as_deref().unwrap_or("-"),
                        p.status
                    );
                }
            }
        }
        PoliciesCmd::Add {
            contact,
            number,
            carrier,
            line,
            premium,
            currency,
            frequency,
            effective,
            expiry,
            status,
        } => {
            let store = profile.store()?;
            let p = store.create_policy(&PolicyDraft {
                contact_id: Some(parse_id("contact", &contact)?),
                policy_number: number,
                carrier,
                line_of_business: line,
                premium,
                currency: Some(currency),
                frequency: Some(frequency),
                effective,
                expiry,
                status,
            })?;
            println!("{}", p.id);
        }
    }
    Ok(())
}
