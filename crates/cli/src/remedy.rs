//! What to do about an error, in the CLI's words (its commands and flags).
//!
//! The libraries say what went wrong and carry the data; the remedy depends
//! on the front end (the app says "Settings", the CLI names a flag), so each
//! front end words its own. This is the CLI's.

use crm_core::CoreError;
use crm_plugins::lifecycle::LifecycleError;
use crm_sync_client::SyncError;

/// The CLI's remedy for the first error in `e`'s chain that has one.
pub fn hint(e: &anyhow::Error) -> Option<&'static str> {
    e.chain().find_map(|cause| {
        if let Some(c) = cause.downcast_ref::<CoreError>() {
            return core(c);
        }
        if let Some(l) = cause.downcast_ref::<LifecycleError>() {
            return match l {
                LifecycleError::UnsignedFolder(_) => Some(
                    "install it with --dev (developer mode), or pack it with `crm plugin pack` and sign it",
                ),
                LifecycleError::NeedsRecord(_) => Some("pass --record ID"),
                LifecycleError::Store(c) => core(c),
                _ => None,
            };
        }
        if let Some(s) = cause.downcast_ref::<SyncError>() {
            return match s {
                SyncError::NotSignedIn => Some("run `crm login SERVER` first"),
                SyncError::Refused { code, .. } => refused(code),
                SyncError::Core(c) => core(c),
                _ => None,
            };
        }
        None
    })
}

/// The server's refusals a person can do something about.
fn refused(code: &str) -> Option<&'static str> {
    match code {
        "password_change_required" => {
            Some("choose your own password with `crm account password`, then sync again")
        }
        "account_disabled" => Some("ask an admin of your agency to enable your account"),
        "admin_only" => Some("ask an admin of your agency to do it"),
        "last_admin" => {
            Some("make another user an admin first (`crm admin set EMAIL --role admin`)")
        }
        "email_taken" => Some("that email already has an account; `crm admin users` lists yours"),
        "wrong_password" => Some("give the password you signed in with (CRM_SYNC_PASSWORD)"),
        "weak_password" => Some("use a longer password"),
        _ => None,
    }
}

fn core(c: &CoreError) -> Option<&'static str> {
    match c {
        CoreError::NoProfile(_) => Some("run `crm init` first (or pass --data-dir)"),
        CoreError::PassphraseRequired => {
            Some("set CRM_PASSPHRASE, or run in a terminal to be asked")
        }
        CoreError::NothingMapped { .. } => Some("map them with --map \"Column=field\""),
        CoreError::Invalid(v) if v.field == "mapping" => {
            Some("check each --map \"Column=field\" against the file's header row")
        }
        CoreError::Invalid(v) if v.field == "login" => {
            Some("use a new profile (--data-dir DIR) for that account")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remedy_is_found_through_context_and_wrapping() {
        let e = anyhow::Error::new(CoreError::NoProfile("/p".into())).context("opening");
        assert_eq!(hint(&e), Some("run `crm init` first (or pass --data-dir)"));
        let e = anyhow::Error::new(SyncError::Core(CoreError::PassphraseRequired));
        assert!(hint(&e).is_some_and(|h| h.contains("CRM_PASSPHRASE")));
        let e = anyhow::Error::new(CoreError::Cancelled);
        assert_eq!(hint(&e), None);
        let e = anyhow::Error::new(SyncError::Refused {
            status: 403,
            code: "password_change_required".into(),
            message: "m".into(),
        });
        assert!(hint(&e).is_some_and(|h| h.contains("crm account password")));
    }
}
