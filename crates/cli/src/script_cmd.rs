//! `crm script run`: one Rhai script in the plugin sandbox, with only the
//! grants given (the profile is opened only when a grant could use it).

use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, bail, Context, Result};
use clap::Subcommand;

use crate::Profile;

#[derive(Subcommand)]
pub enum ScriptCmd {
    /// Run one script in the sandbox; prints its value as JSON.
    Run {
        /// The script file.
        file: PathBuf,
        /// Grant a permission, e.g. contacts:read (repeatable; none by default).
        #[arg(long = "grant", value_name = "PERMISSION")]
        grants: Vec<String>,
        /// Wall-clock deadline in milliseconds.
        #[arg(long, default_value_t = 5000)]
        timeout_ms: u64,
    },
}

/// `crm script …`.
pub fn run(profile: &mut Profile, cmd: ScriptCmd) -> Result<()> {
    match cmd {
        ScriptCmd::Run {
            file,
            grants,
            timeout_ms,
        } => {
            let limits = crm_plugins::Limits {
                timeout: std::time::Duration::from_millis(timeout_ms.clamp(1, 600_000)),
                ..Default::default()
            };
            // Check the size before reading, and read at most one byte past
            // the limit, so a huge file is never loaded.
            let f = std::fs::File::open(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let mut source = Vec::new();
            std::io::Read::take(f, limits.max_source as u64 + 1)
                .read_to_end(&mut source)
                .with_context(|| format!("cannot read {}", file.display()))?;
            if source.len() > limits.max_source {
                bail!(
                    "limit error: {} is over {} bytes, the most a script may be",
                    file.display(),
                    limits.max_source
                );
            }
            let source = String::from_utf8(source)
                .map_err(|_| anyhow!("syntax error: {} is not UTF-8 text", file.display()))?;
            // Only open the profile when a grant could use it: least privilege.
            let store = if grants.is_empty() {
                None
            } else {
                let store = profile.take()?;
                // Code with permissions on the live profile: an admin's to
                // run, as installing a plugin is, and never where the
                // agency lets only its catalog's plugins run.
                store.require_admin("run a script with permissions on this profile")?;
                if store.catalog_local_plugins()?.as_deref() == Some("no_one") {
                    bail!(
                        "your agency runs only its catalog's plugins on this profile; \
                         run the script without --grant, or on a profile of your own"
                    );
                }
                Some(Arc::new(Mutex::new(store)))
            };
            let sandbox = crm_plugins::Sandbox::new(limits);
            let ctx = crm_plugins::Context {
                grants: grants.into_iter().collect(),
                store: store.clone(),
                ..Default::default()
            };
            let out = sandbox.run(&source, ctx).map_err(|e| anyhow!("{e}"))?;
            // The sandbox is done with the store: hand it back, so the hooks
            // for what the script wrote run on it rather than on a second
            // opening (if anything still holds it, the hooks open their own).
            if let Some(Ok(store)) = store.and_then(Arc::into_inner).map(Mutex::into_inner) {
                profile.put_back(store);
            }
            // Marked as the script's, so no printed line can pose as ours.
            for line in &out.output {
                eprintln!("print: {line}");
            }
            if out.output_truncated {
                eprintln!("(output truncated)");
            }
            println!("{}", crm_plugins::text::json_line(&out.value));
        }
    }
    Ok(())
}
