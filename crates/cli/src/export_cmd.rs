//! `crm export contacts`: every contact to a CSV file.

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;
use indicatif::ProgressBar;

use crate::Profile;

#[derive(Subcommand)]
pub enum ExportCmd {
    /// Export all contacts.
    Contacts {
        /// The CSV file to write.
        file: PathBuf,
    },
}

/// `crm export …`.
pub fn run(profile: &mut Profile, cmd: ExportCmd) -> Result<()> {
    match cmd {
        ExportCmd::Contacts { file } => {
            let store = profile.store()?;
            let total = store.count_contacts()?;
            let bar = ProgressBar::new(total as u64);
            let n = store.export_contacts(&file, &mut |n| bar.set_position(n))?;
            bar.finish_and_clear();
            println!("exported {n} contacts to {}", file.display());
        }
    }
    Ok(())
}
