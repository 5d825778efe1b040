//! The import wizard: preview the detected mapping, run with progress and
//! cancel, keep the report for download.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crm_core::import::{ImportControl, ImportOptions, ImportReport};

use crate::dto::*;
use crate::{poisoned, ApiError, ApiResult, App};

/// Rows shown in the preview.
const PREVIEW_ROWS: usize = 8;
/// Problems sent to the UI (the saved report has them all).
const PROBLEMS_SHOWN: usize = 500;

/// The running import's cancel handle and the last report.
#[derive(Default)]
pub struct ImportJobs {
    running: Mutex<Option<ImportControl>>,
    last: Mutex<Option<ImportReport>>,
}

fn mappings(m: &[ColumnChoice]) -> Vec<(String, String)> {
    m.iter()
        .map(|c| (c.column.clone(), c.field.trim().to_string()))
        .collect()
}

fn file(path: &str) -> ApiResult<PathBuf> {
    let p = PathBuf::from(path.trim());
    if path.trim().is_empty() {
        return Err(ApiError::invalid("path", "choose a CSV file"));
    }
    match std::fs::metadata(&p) {
        Ok(m) if m.is_file() => Ok(p),
        Ok(_) => Err(ApiError::invalid(
            "path",
            format!("{} is not a file", p.display()),
        )),
        Err(e) => Err(ApiError::invalid("path", format!("{}: {e}", p.display()))),
    }
}

fn columns(r: &ImportReport) -> Vec<ColumnDto> {
    r.columns
        .iter()
        .map(|c| ColumnDto {
            index: c.index as u32,
            header: c.header.clone(),
            field: c.field.clone(),
            explicit: c.explicit,
        })
        .collect()
}

fn report_dto(r: &ImportReport) -> ImportReportDto {
    ImportReportDto {
        rows: r.rows,
        created: r.created,
        updated: r.updated,
        unchanged: r.unchanged,
        skipped: r.skipped,
        blank: r.blank,
        problems: r
            .problems
            .iter()
            .take(PROBLEMS_SHOWN)
            .map(|p| RowProblemDto {
                row: p.row,
                column: p.column.clone(),
                reason: p.reason.clone(),
            })
            .collect(),
        possible_duplicates: r.possible_duplicate_count,
        dry_run: r.dry_run,
        cancelled: r.cancelled,
    }
}

impl App {
    /// Read the file's header and first rows; show the detected mapping
    /// (with the user's choices applied).
    pub fn import_preview(&self, path: &str, choices: &[ColumnChoice]) -> ApiResult<ImportPreview> {
        let p = file(path)?;
        let size = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
        let (rep, sample) = crm_core::import::preview(&p, &mappings(choices), PREVIEW_ROWS)?;
        Ok(ImportPreview {
            path: p.display().to_string(),
            size,
            encoding: rep.encoding.clone(),
            delimiter: rep.delimiter.clone(),
            columns: columns(&rep),
            sample,
        })
    }

    /// Run an import. `progress` is called as batches commit and while the
    /// plugins' hooks run; [`App::import_cancel`] stops it (the open batch
    /// rolls back; rows already committed stay, and a re-run updates them
    /// instead of duplicating).
    pub fn import_run(
        &self,
        args: &ImportArgs,
        progress: &mut dyn FnMut(ImportProgress),
    ) -> ApiResult<ImportReportDto> {
        let p = file(&args.path)?;
        let control = ImportControl::new();
        {
            let mut running = self.imports.running.lock().map_err(poisoned)?;
            if running.is_some() {
                return Err(ApiError::new(
                    crate::ErrorCode::Busy,
                    "an import is already running; wait for it or cancel it",
                ));
            }
            *running = Some(control.clone());
        }
        let opts = ImportOptions {
            dry_run: args.dry_run,
            mappings: mappings(&args.mappings),
            batch_size: crm_core::import::DEFAULT_BATCH_SIZE,
        };
        let result = (|| -> ApiResult<ImportReport> {
            let s = self.session()?;
            let rep = {
                let mut store = crate::lock_store(&s)?;
                store.set_cache_limit_mib(crate::IMPORT_CACHE_MIB)?;
                let rep = store.import_contacts(&p, &opts, &control, &mut |pr| {
                    progress(ImportProgress {
                        phase: "reading".into(),
                        done: pr.rows,
                        bytes_read: pr.bytes_read,
                        total: pr.total_bytes,
                    })
                });
                // Back to the small cache whatever happened (frees the pages).
                store.set_cache_limit_mib(crate::INTERACTIVE_CACHE_MIB)?;
                rep?
            };
            // The rows are saved; now the plugins that listen react to them
            // (cancelling stops the hooks, not the import).
            self.run_hooks(&s, &mut |done, total| {
                progress(ImportProgress {
                    phase: "plugins".into(),
                    done: done as u64,
                    bytes_read: 0,
                    total: total as u64,
                });
                !control.is_cancelled()
            });
            Ok(rep)
        })();
        *self.imports.running.lock().map_err(poisoned)? = None;
        let rep = result?;
        let dto = report_dto(&rep);
        *self.imports.last.lock().map_err(poisoned)? = Some(rep);
        tracing::info!(
            rows = dto.rows,
            created = dto.created,
            updated = dto.updated,
            skipped = dto.skipped,
            cancelled = dto.cancelled,
            "import finished"
        );
        Ok(dto)
    }

    /// Cancel the running import (no-op when none runs).
    pub fn import_cancel(&self) -> ApiResult<bool> {
        let running = self.imports.running.lock().map_err(poisoned)?;
        if let Some(c) = running.as_ref() {
            c.cancel();
            return Ok(true);
        }
        Ok(false)
    }

    /// Save the last import's full report (every problem row) as CSV.
    pub fn import_report_save(&self, path: &str) -> ApiResult<()> {
        let last = self.imports.last.lock().map_err(poisoned)?;
        let rep = last
            .as_ref()
            .ok_or_else(|| ApiError::new(crate::ErrorCode::NotFound, "no import has run yet"))?;
        rep.write_csv(Path::new(path))?;
        Ok(())
    }
}
